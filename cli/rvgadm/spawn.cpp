#include "cli/rvgadm/spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cli/rvgadm/output.h"

namespace rvg {

namespace {

bool IsExecutable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

std::string OwnDirectory() {
  char buffer[PATH_MAX];
  ssize_t length = ::readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (length <= 0) return "";
  std::string path(buffer, static_cast<size_t>(length));
  return path.substr(0, path.rfind('/'));
}

}  // namespace

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (IsExecutable(candidate)) return candidate;
    start = end + 1;
  }
  return "";
}

namespace {

// The argument vector is built before fork(): the child only execs.
std::vector<std::string> DaemonArguments(const DaemonLaunch& launch, int ready_fd) {
  std::vector<std::string> args = {launch.rvgd, "--home", launch.home};
  if (ready_fd >= 0) {
    args.push_back("--ready-fd");
    args.push_back(std::to_string(ready_fd));
  }
  if (!launch.mount.empty()) {
    args.push_back("--mount");
    args.push_back(launch.mount);
  }
  if (!launch.metrics.empty()) {
    args.push_back("--metrics");
    args.push_back(launch.metrics);
  }
  args.push_back(launch.rvg);
  return args;
}

std::vector<char*> ArgvOf(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return argv;
}

// In the forked child: detach, wire up stdio and exec. Never returns.
[[noreturn]] void ExecChild(char* const* argv, int null_fd, int log_fd, int ready_fd) {
  ::setsid();
  ::dup2(null_fd, STDIN_FILENO);
  ::dup2(log_fd, STDOUT_FILENO);
  ::dup2(log_fd, STDERR_FILENO);
  // dup2 onto itself (a closed stdio slot reused) keeps FD_CLOEXEC: clear it.
  for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, ready_fd}) ::fcntl(fd, F_SETFD, 0);
  // Nothing else of rvgadm's leaks into the daemon.
  ::close_range(3, static_cast<unsigned>(ready_fd) - 1, 0);
  ::close_range(static_cast<unsigned>(ready_fd) + 1, ~0U, 0);
  ::execv(argv[0], argv);
  const char* reason = std::strerror(errno);
  std::string line = std::string("error: cannot run ") + argv[0] + ": " + reason + "\n";
  ssize_t ignored = ::write(ready_fd, line.data(), line.size());
  (void)ignored;
  ::_exit(127);
}

// Reads up to the first newline (or EOF) from rvgd's ready pipe, showing
// a wait indicator on a terminal meanwhile.
std::string ReadReadyLine(int fd, const std::string& rvg) {
  WaitIndicator indicator("starting rvgd for RVG " + rvg + "...");
  auto start = std::chrono::steady_clock::now();
  std::string line;
  for (;;) {
    pollfd item{fd, POLLIN, 0};
    int ready = ::poll(&item, 1, 1000);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      indicator.Tick(elapsed.count());
      continue;
    }
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line += c;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string ExitDescription(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return "rvgd closed its ready pipe while starting";
  if (WIFEXITED(status)) {
    return "rvgd exited with status " + std::to_string(WEXITSTATUS(status)) + " while starting";
  }
  if (WIFSIGNALED(status)) {
    return "rvgd was killed by signal " + std::to_string(WTERMSIG(status)) + " while starting";
  }
  return "rvgd exited while starting";
}

}  // namespace

Result<std::string> FindRvgd() {
  const char* from_env = std::getenv("RVGD");
  if (from_env != nullptr && *from_env != '\0') {
    if (IsExecutable(from_env)) return std::string(from_env);
    return Status::Error(std::string("RVGD=") + from_env +
                             " is not an executable file; fix RVGD or unset it",
                         ENOENT);
  }
  std::string own_dir = OwnDirectory();
  if (!own_dir.empty()) {
    if (IsExecutable(own_dir + "/rvgd")) return own_dir + "/rvgd";
    if (IsExecutable(own_dir + "/../rvgd/rvgd")) return own_dir + "/../rvgd/rvgd";
  }
  std::string on_path = FindOnPath("rvgd");
  if (!on_path.empty()) return on_path;
  return Status::Error("cannot find rvgd: not beside rvgadm (" + own_dir +
                           ") nor on PATH; install it or set RVGD=/path/to/rvgd",
                       ENOENT);
}

Status LaunchDaemon(const DaemonLaunch& launch) {
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) return Status::FromErrno(errno, "opening /dev/null");
  int log_fd = ::open(launch.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    ::close(null_fd);
    return Status::FromErrno(errno, "opening rvgd's log " + launch.log_path);
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    ::close(null_fd);
    ::close(log_fd);
    return Status::FromErrno(errno, "creating rvgd's ready pipe");
  }
  std::vector<std::string> args = DaemonArguments(launch, pipe_fds[1]);
  std::vector<char*> argv = ArgvOf(args);
  // The detached rvgd is no service of whatever unit ran rvgadm: it must
  // not report readiness or stops to it (--foreground execs in place, as
  // the unit's main process, and keeps them).
  for (const char* name : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) ::unsetenv(name);

  pid_t pid = ::fork();
  if (pid == 0) ExecChild(argv.data(), null_fd, log_fd, pipe_fds[1]);
  int fork_errno = errno;
  ::close(pipe_fds[1]);
  ::close(null_fd);
  ::close(log_fd);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    return Status::FromErrno(fork_errno, "starting rvgd");
  }

  std::string line = ReadReadyLine(pipe_fds[0], launch.rvg);
  ::close(pipe_fds[0]);
  if (line == "ok") return Status::Ok();
  const std::string error_prefix = "error: ";
  if (line.rfind(error_prefix, 0) == 0) return Status::Error(line.substr(error_prefix.size()));
  if (!line.empty()) {
    return Status::Error("rvgd said '" + line + "' instead of ok while starting; see " +
                         launch.log_path);
  }
  return Status::Error(ExitDescription(pid) + "; see " + launch.log_path);
}

Status ExecDaemon(const DaemonLaunch& launch) {
  std::vector<std::string> args = DaemonArguments(launch, -1);
  std::vector<char*> argv = ArgvOf(args);
  ::execv(argv[0], argv.data());
  return Status::FromErrno(errno, "running " + launch.rvgd);
}

}  // namespace rvg
