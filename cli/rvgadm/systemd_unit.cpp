#include "cli/rvgadm/systemd_unit.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "cli/rvgadm/spawn.h"

namespace rvg {

namespace {

constexpr const char* kUnitHome = "/var/lib/rvg";  // the unit's ExecStart --home
constexpr const char* kUnitFile = "rvgd@.service";
// systemd's system unit directories, in its order of precedence.
constexpr const char* kUnitDirs =
    "/etc/systemd/system:/run/systemd/system:/lib/systemd/system:/usr/lib/systemd/system";

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// "" when the path does not resolve (a missing unit home is never `home`).
std::string RealPath(const std::string& path) {
  char buffer[PATH_MAX];
  if (::realpath(path.c_str(), buffer) == nullptr) return "";
  return buffer;
}

bool UnitInstalled() {
  std::istringstream dirs(EnvOr("RVG_UNIT_PATH", kUnitDirs));
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (!dir.empty() && ::access((dir + "/" + kUnitFile).c_str(), F_OK) == 0) return true;
  }
  return false;
}

// The first non-empty line of `text` without a final full stop, for a
// one-line error.
std::string FirstLine(const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start && text[end - 1] == '.') --end;
    if (end > start) return text.substr(start, end - start);
    start = end + 1;
  }
  return "";
}

}  // namespace

Result<bool> UseUnit(const Home& home) {
  std::string forced = EnvOr("RVG_SYSTEMD", "");
  if (!forced.empty() && forced != "0" && forced != "1") {
    return Status::Error("RVG_SYSTEMD=" + forced + " is neither 0 (never rvgd@.service) nor 1 "
                         "(always when root in its home); fix it or unset it");
  }
  if (forced == "0" || ::geteuid() != 0) return false;
  if (forced != "1" && ::sd_booted() <= 0) return false;
  std::string unit_home = RealPath(EnvOr("RVG_UNIT_HOME", kUnitHome));
  if (unit_home.empty() || RealPath(home.dir()) != unit_home) return false;
  return UnitInstalled();
}

std::string UnitName(const std::string& rvg) { return "rvgd@" + rvg + ".service"; }

Status Systemctl(const std::string& verb, const std::string& rvg) {
  std::string unit = UnitName(rvg);
  std::string how = "set RVG_SYSTEMD=0 to run rvgd outside " + unit;
  std::string path = FindOnPath("systemctl");
  if (path.empty()) return Status::Error("systemctl is not on PATH; " + how, ENOENT);
  // Built before fork(): the child only execs.
  std::vector<std::string> args = {path, verb, unit};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // systemctl's output (its error, several lines) is read, not shown, so
  // a failure is reported in rvgadm's one line.
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, "creating a pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(pipe_fds[1]);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    return Status::FromErrno(fork_errno, "running systemctl");
  }
  std::string output;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(pipe_fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  std::string what = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                       : "killed by signal " + std::to_string(WTERMSIG(status));
  std::string line = FirstLine(output);
  return Status::Error("systemctl " + verb + " " + unit + " failed (" + what + ")" +
                       (line.empty() ? "" : ": " + line) + "; see journalctl -u rvgd@" + rvg);
}

}  // namespace rvg
