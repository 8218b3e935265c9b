// RvgFs's session lifecycle on the libfuse3 low-level API; the request
// handlers it serves are in volume_ops.cpp.
//
// Session lifecycle: Mount() creates the session, mounts (mount(2) as root,
// fusermount3 otherwise) and runs fuse_session_loop_mt() on a thread of its
// own. A clean Unmount() unmounts in the kernel first, so that a busy volume
// makes it fail while everything keeps serving; the kernel then tears the
// connection down, the loop sees ENODEV and ends, and only then is the
// session's fd closed. Closing the fd while workers still read it could hand
// them a reused fd number.
#define FUSE_USE_VERSION 312

#include "fuse/rvg_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "fuse/rvg_fs_internal.h"

namespace rvg {

namespace {

constexpr unsigned kMaxIdleThreads = 10;
constexpr auto kMountDeadline = std::chrono::seconds(10);
constexpr auto kLoopEndPatience = std::chrono::seconds(2);

// libfuse reports problems (a failed mount, a failed fusermount3) through
// its log hook; they belong in rvg's log, not on a daemon's closed stderr.
void LogFromLibfuse(enum fuse_log_level level, const char* fmt, va_list ap) {
  char line[512];
  vsnprintf(line, sizeof(line), fmt, ap);
  size_t length = strlen(line);
  while (length > 0 && line[length - 1] == '\n') line[--length] = '\0';
  spdlog::level::level_enum spd_level = level <= FUSE_LOG_ERR       ? spdlog::level::err
                                        : level == FUSE_LOG_WARNING ? spdlog::level::warn
                                        : level <= FUSE_LOG_INFO    ? spdlog::level::info
                                                                    : spdlog::level::debug;
  spdlog::log(spd_level, "libfuse: {}", line);
}

// Returns the device of the directory before anything is mounted on it,
// which tells later whether the mount is there.
Result<dev_t> CheckMountpoint(const std::string& mountpoint) {
  struct stat st;
  if (::stat(mountpoint.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOTCONN) {
      return Status::Error("mountpoint " + mountpoint + " is a dead FUSE mount; run " +
                               "'fusermount3 -u " + mountpoint + "' and retry",
                           ENOTCONN);
    }
    return Status::FromErrno(err, "checking mountpoint " + mountpoint);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::Error("mountpoint " + mountpoint + " is not a directory; give an empty " +
                             "directory",
                         ENOTDIR);
  }
  DIR* dir = ::opendir(mountpoint.c_str());
  if (dir == nullptr) return Status::FromErrno(errno, "listing mountpoint " + mountpoint);
  bool empty = true;
  while (struct dirent* entry = ::readdir(dir)) {
    if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) empty = false;
  }
  ::closedir(dir);
  if (!empty) {
    return Status::Error("mountpoint " + mountpoint + " is not empty; mounting would hide its " +
                             "files, give an empty directory",
                         ENOTEMPTY);
  }
  return st.st_dev;
}

Status BusyError(const std::string& mountpoint) {
  return Status::Error("cannot unmount " + mountpoint + ": a volume is in use (loop device " +
                           "or open file); detach it first",
                       EBUSY);
}

// The unprivileged path: fusermount3 (setuid root) unmounts what the same
// user mounted. Returns whether it did; an error only if it did not run.
// Its stderr would only repeat what KernelUnmount reports.
Result<bool> RunFusermountUnmount(const std::string& mountpoint) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const char* argv[] = {"fusermount3", "-u", "--", mountpoint.c_str(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "fusermount3", &actions, nullptr, const_cast<char* const*>(argv),
                        environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return Status::FromErrno(rc, "cannot unmount " + mountpoint + ": running fusermount3");
  }
  int wait_status = -1;  // reads as "did not exit" should waitpid fail
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

bool StillMounted(const std::string& mountpoint, dev_t connection) {
  struct stat st;
  return ::stat(mountpoint.c_str(), &st) == 0 && st.st_dev == connection;
}

// Removes the kernel mount unless a volume is busy. A mount that someone
// else removed already counts as removed.
Status KernelUnmount(const std::string& mountpoint, dev_t connection) {
  if (::umount2(mountpoint.c_str(), UMOUNT_NOFOLLOW) == 0) return Status::Ok();
  int err = errno;
  if (err == EPERM) {
    Result<bool> unmounted = RunFusermountUnmount(mountpoint);
    if (!unmounted.ok()) return unmounted.status();
    if (unmounted.value()) return Status::Ok();
    // fusermount3 refuses to unmount a live mount of the same user only
    // when it is busy.
    err = StillMounted(mountpoint, connection) ? EBUSY : EINVAL;
  }
  if (err == EBUSY) return BusyError(mountpoint);
  if (err == EINVAL && !StillMounted(mountpoint, connection)) {
    spdlog::warn("FUSE mount at {} had already been unmounted", mountpoint);
    return Status::Ok();
  }
  return Status::FromErrno(err, "cannot unmount " + mountpoint);
}

// Wakes one worker of a session that has been told to exit: the worker
// answers this request and then sees the exit flag. Done from a detached
// thread that owns its copy of the path, because if the loop ends before
// the request is read, it is only answered (with an error) once the
// session's fd is closed, which happens after we stop waiting.
void PokeAsync(const std::string& mountpoint) {
  std::thread([mountpoint] {
    struct statvfs sv;
    ::statvfs(mountpoint.c_str(), &sv);
  }).detach();
}

}  // namespace

struct RvgFs::Impl {
  FsState state;
  std::string mountpoint;  // absolute, as the unmount calls need it
  dev_t connection = 0;    // st_dev of the live mount
  struct fuse_session* session = nullptr;
  bool mounted = false;  // the kernel mount is ours to remove

  std::thread loop;
  std::mutex mu;
  std::condition_variable loop_ended_cv;
  bool loop_ended = false;  // guarded by mu

  void RunLoop() {
    struct fuse_loop_config* config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_clone_fd(config, 0);
    fuse_loop_cfg_set_idle_threads(config, kMaxIdleThreads);
    int rc = fuse_session_loop_mt(session, config);
    fuse_loop_cfg_destroy(config);
    if (rc < 0) spdlog::warn("FUSE session at {} ended: {}", mountpoint, strerror(-rc));
    std::lock_guard<std::mutex> lock(mu);
    loop_ended = true;
    loop_ended_cv.notify_all();
  }

  // The process's signals belong to the program (rvgd waits for them
  // itself); libfuse's worker threads inherit this thread's mask.
  void StartLoop() {
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    loop = std::thread([this] { RunLoop(); });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }

  bool WaitLoopEnded(std::chrono::steady_clock::duration timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return loop_ended_cv.wait_for(lock, timeout, [this] { return loop_ended; });
  }

  // Ends the session loop and joins it. A loop whose kernel mount is gone
  // has seen ENODEV and ends by itself; one still mounted is woken by a
  // request. Blocks until the loop has ended, since its workers use
  // `state`: a mount detached by someone else while in use keeps it going
  // until its users let go.
  void StopLoop() {
    if (!loop.joinable()) return;
    fuse_session_exit(session);
    if (mounted) PokeAsync(mountpoint);
    while (!WaitLoopEnded(kLoopEndPatience)) {
      spdlog::warn("FUSE session at {} is still serving a detached mount; waiting for its "
                   "users to close it", mountpoint);
    }
    loop.join();
  }

  // Closes the session's fd, which fails whatever still uses a mount that
  // is in the kernel, lazily unmounts it if so, and frees the session.
  void DestroySession() {
    if (session == nullptr) return;
    fuse_session_unmount(session);
    fuse_session_destroy(session);
    session = nullptr;
    mounted = false;
  }

  // fuse_session_mount() returns once the kernel mount exists; the kernel
  // then holds every request until the loop has answered INIT. A stat that
  // shows a new device has therefore been answered by the running session.
  Status WaitUntilLive(dev_t underlying) {
    auto deadline = std::chrono::steady_clock::now() + kMountDeadline;
    for (;;) {
      struct stat st;
      if (::stat(mountpoint.c_str(), &st) == 0 && st.st_dev != underlying) {
        connection = st.st_dev;
        return Status::Ok();
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return Status::Error("FUSE mount at " + mountpoint + " did not come up within 10 s; " +
                             "see the log for libfuse's messages");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
};

RvgFs::RvgFs(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<RvgFs>> RvgFs::Mount(VolumeIo* io, const std::string& mountpoint,
                                            const std::string& fsname) {
  Result<dev_t> underlying = CheckMountpoint(mountpoint);
  if (!underlying.ok()) return underlying.status();
  char* absolute = ::realpath(mountpoint.c_str(), nullptr);
  if (absolute == nullptr) return Status::FromErrno(errno, "resolving mountpoint " + mountpoint);

  auto impl = std::make_unique<Impl>();
  impl->mountpoint = absolute;
  free(absolute);
  impl->state.io = io;
  impl->state.volumes = io->Volumes();
  impl->state.uid = ::getuid();
  impl->state.gid = ::getgid();
  clock_gettime(CLOCK_REALTIME, &impl->state.mount_time);

  static std::once_flag log_hook_once;
  std::call_once(log_hook_once, [] { fuse_set_log_func(LogFromLibfuse); });

  // Not allow_other: unprivileged users may not set it without
  // user_allow_other in /etc/fuse.conf, and the volumes are the mounting
  // user's. default_permissions lets the kernel apply the modes we report.
  std::string program = "rvg";
  std::string dash_o = "-o";
  // fsname is "rvg:" + an RVG name, which holds no comma.
  std::string options = "fsname=" + fsname + ",subtype=rvg,default_permissions";
  char* argv[] = {program.data(), dash_o.data(), options.data(), nullptr};
  struct fuse_args args = FUSE_ARGS_INIT(3, argv);
  impl->session =
      fuse_session_new(&args, &VolumeOps(), sizeof(struct fuse_lowlevel_ops), &impl->state);
  fuse_opt_free_args(&args);
  if (impl->session == nullptr) {
    return Status::Error("cannot mount at " + impl->mountpoint + ": libfuse refused the " +
                         "session options; see the log");
  }
  if (fuse_session_mount(impl->session, impl->mountpoint.c_str()) != 0) {
    fuse_session_destroy(impl->session);
    return Status::Error("cannot mount FUSE at " + impl->mountpoint + "; see the log for " +
                         "libfuse's reason (unprivileged mounts need fusermount3 and /dev/fuse)");
  }
  impl->mounted = true;
  impl->StartLoop();
  Status status = impl->WaitUntilLive(underlying.value());
  std::unique_ptr<RvgFs> fs(new RvgFs(std::move(impl)));
  if (!status.ok()) return status;  // ~RvgFs tears the half-started mount down
  return fs;
}

Status RvgFs::Unmount(const std::function<void()>& on_detached) {
  Impl& impl = *impl_;
  if (impl.session == nullptr) return Status::Ok();
  if (impl.mounted) {
    Status status = KernelUnmount(impl.mountpoint, impl.connection);
    if (!status.ok()) return status;
    impl.mounted = false;
  }
  if (on_detached) on_detached();
  impl.StopLoop();
  impl.DestroySession();
  return Status::Ok();
}

RvgFs::~RvgFs() {
  impl_->StopLoop();
  impl_->DestroySession();
}

}  // namespace rvg
