// RvgFs on the libfuse3 low-level API.
//
// The low-level API is used because the file set is fixed: inode numbers
// are simply 2 + the volume's index (1 is the root), so no path lookups or
// inode tables are needed and every handler reads immutable state without
// locks.
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

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "core/record.h"

namespace rvg {

namespace {

constexpr fuse_ino_t kRootIno = FUSE_ROOT_ID;
constexpr fuse_ino_t kFirstVolumeIno = FUSE_ROOT_ID + 1;

// Names, sizes and attributes never change while mounted, so the kernel may
// cache them for a while; a minute keeps getattr traffic off the data path
// without making a stale view (there is none) last forever.
constexpr double kCacheSeconds = 60.0;

// fuse_file_info::fh bit: the handle was opened with O_SYNC or O_DSYNC.
constexpr uint64_t kStrictHandle = 1;

constexpr uint64_t kStatfsBlockSize = 4096;
constexpr unsigned kMaxIdleThreads = 10;
constexpr auto kMountDeadline = std::chrono::seconds(10);
constexpr auto kLoopEndPatience = std::chrono::seconds(2);

// What the request handlers serve. Filled before the session starts and
// never modified afterwards, so handlers on any worker thread read it freely.
struct FsState {
  VolumeIo* io = nullptr;
  std::vector<VolumeSpec> volumes;  // index i is inode kFirstVolumeIno + i
  uid_t uid = 0;
  gid_t gid = 0;
  struct timespec mount_time = {};
};

const FsState& StateOf(fuse_req_t req) {
  return *static_cast<const FsState*>(fuse_req_userdata(req));
}

const VolumeSpec* VolumeOf(const FsState& state, fuse_ino_t ino) {
  if (ino < kFirstVolumeIno || ino - kFirstVolumeIno >= state.volumes.size()) return nullptr;
  return &state.volumes[ino - kFirstVolumeIno];
}

// False when `ino` is neither the root nor a volume.
bool FillAttr(const FsState& state, fuse_ino_t ino, struct stat* st) {
  *st = {};
  st->st_ino = ino;
  st->st_uid = state.uid;
  st->st_gid = state.gid;
  // One fixed time for everything: the kernel drops its cached pages when
  // mtime changes, and nothing but writes through this very mount changes
  // the data, so the cache is never stale.
  st->st_atim = st->st_mtim = st->st_ctim = state.mount_time;
  if (ino == kRootIno) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return true;
  }
  const VolumeSpec* volume = VolumeOf(state, ino);
  if (volume == nullptr) return false;
  st->st_mode = S_IFREG | 0600;
  st->st_nlink = 1;
  st->st_size = static_cast<off_t>(volume->size);
  // A volume behaves like a fully allocated disk, whatever the sparseness
  // of the image behind it.
  st->st_blocks = static_cast<blkcnt_t>((volume->size + 511) / 512);
  return true;
}

void ReplyStatus(fuse_req_t req, const Status& status) {
  fuse_reply_err(req, status.ok() ? 0 : status.code() > 0 ? status.code() : EIO);
}

// Replies for an inode that is not a volume.
void ReplyNotAVolume(fuse_req_t req, fuse_ino_t ino) {
  fuse_reply_err(req, ino == kRootIno ? EISDIR : ENOENT);
}

void OnInit(void* /*userdata*/, struct fuse_conn_info* conn) {
  // No writeback cache: with it the kernel answers write() from the page
  // cache and sends the data later, merged and in its own order, so writes
  // would reach the SRL out of order and the durability contract (answer a
  // write once it is in the SRL) could not be kept.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // The largest write rvg carries end to end; libfuse negotiates the
  // kernel's max_pages from it.
  conn->max_write = kMaxWriteBytes;
  // Splice is not requested: VolumeIo takes and fills memory buffers, so a
  // splice from or into a pipe would add a copy rather than save one.
}

void OnLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  const FsState& state = StateOf(req);
  if (parent != kRootIno) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  for (size_t i = 0; i < state.volumes.size(); ++i) {
    if (state.volumes[i].name != name) continue;
    struct fuse_entry_param entry = {};
    entry.ino = kFirstVolumeIno + i;
    FillAttr(state, entry.ino, &entry.attr);
    entry.attr_timeout = kCacheSeconds;
    entry.entry_timeout = kCacheSeconds;
    fuse_reply_entry(req, &entry);
    return;
  }
  fuse_reply_err(req, ENOENT);
}

void OnGetattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* /*fi*/) {
  struct stat st;
  if (!FillAttr(StateOf(req), ino, &st)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_reply_attr(req, &st, kCacheSeconds);
}

// Sizes, modes and owners are fixed by the RVG's configuration. Requests
// that would leave them as they are succeed (tools truncate to the current
// size or copy modes as a matter of course); times are accepted and not
// kept, since the fixed mtime is what keeps the kernel's cache.
void OnSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               struct fuse_file_info* /*fi*/) {
  struct stat st;
  if (!FillAttr(StateOf(req), ino, &st)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  bool changes_fixed_attr =
      ((to_set & FUSE_SET_ATTR_SIZE) && attr->st_size != st.st_size) ||
      ((to_set & FUSE_SET_ATTR_MODE) && (attr->st_mode & 07777) != (st.st_mode & 07777)) ||
      ((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != st.st_uid) ||
      ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != st.st_gid);
  if (changes_fixed_attr) {
    fuse_reply_err(req, EPERM);
    return;
  }
  fuse_reply_attr(req, &st, kCacheSeconds);
}

void OnReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
               struct fuse_file_info* /*fi*/) {
  const FsState& state = StateOf(req);
  if (ino != kRootIno) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  // Entry k is ".", "..", then volume k - 2; the offset handed back with
  // each entry is the index of the one after it.
  std::vector<char> buf(size);
  size_t used = 0;
  size_t count = 2 + state.volumes.size();
  for (size_t k = static_cast<size_t>(std::max<off_t>(off, 0)); k < count; ++k) {
    struct stat st = {};
    const char* name = k == 0 ? "." : k == 1 ? ".." : state.volumes[k - 2].name.c_str();
    st.st_ino = k < 2 ? kRootIno : kFirstVolumeIno + (k - 2);
    st.st_mode = k < 2 ? S_IFDIR : S_IFREG;
    size_t needed = fuse_add_direntry(req, buf.data() + used, size - used, name, &st,
                                      static_cast<off_t>(k + 1));
    if (needed > size - used) break;
    used += needed;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void OnOpen(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  const VolumeSpec* volume = VolumeOf(StateOf(req), ino);
  if (volume == nullptr) {
    ReplyNotAVolume(req, ino);
    return;
  }
  // Only seen if the kernel passes O_TRUNC on (atomic_o_trunc); otherwise
  // the truncation arrives as a setattr and is refused there.
  if ((fi->flags & O_TRUNC) && volume->size != 0) {
    fuse_reply_err(req, EPERM);
    return;
  }
  fi->fh = (fi->flags & (O_SYNC | O_DSYNC)) ? kStrictHandle : 0;
  // Every change to the data passes through this mount's page cache, so
  // what the cache holds from an earlier open is still right.
  fi->keep_cache = 1;
  fuse_reply_open(req, fi);
}

void OnRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
            struct fuse_file_info* /*fi*/) {
  const FsState& state = StateOf(req);
  const VolumeSpec* volume = VolumeOf(state, ino);
  if (volume == nullptr) {
    ReplyNotAVolume(req, ino);
    return;
  }
  uint64_t offset = static_cast<uint64_t>(off);  // never negative for a regular file
  if (offset >= volume->size) {
    fuse_reply_buf(req, nullptr, 0);
    return;
  }
  size_t length = static_cast<size_t>(std::min<uint64_t>(size, volume->size - offset));
  // One buffer per worker thread, grown once: no allocation per read.
  thread_local std::vector<char> buffer;
  if (buffer.size() < length) buffer.resize(std::max<size_t>(length, kMaxWriteBytes));
  Status status = state.io->Read(volume->id, offset, buffer.data(), length);
  if (!status.ok()) {
    ReplyStatus(req, status);
    return;
  }
  fuse_reply_buf(req, buffer.data(), length);
}

void OnWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             struct fuse_file_info* fi) {
  const FsState& state = StateOf(req);
  const VolumeSpec* volume = VolumeOf(state, ino);
  if (volume == nullptr) {
    ReplyNotAVolume(req, ino);
    return;
  }
  // A volume stands for a disk of fixed size that cannot grow. A request
  // that does not fit is refused whole with ENOSPC rather than cut short:
  // a partial answer would leave the caller's block half written at the
  // end, and ENOSPC says plainly that the volume ends here. (The kernel
  // splits a buffered write at a page it does not cache, so a write() that
  // straddles the end from an unaligned offset may first be answered
  // short, up to that page, and fail with ENOSPC only when retried.)
  uint64_t offset = static_cast<uint64_t>(off);  // never negative for a regular file
  if (offset > volume->size || size > volume->size - offset) {
    fuse_reply_err(req, ENOSPC);
    return;
  }
  // The kernel never sends more than the max_write negotiated in OnInit.
  if (size == 0 || size > kMaxWriteBytes) {
    fuse_reply_err(req, size == 0 ? 0 : EINVAL);
    return;
  }
  // The write's own flags carry O_DSYNC for pwritev2(RWF_DSYNC) as well.
  bool strict = (fi->fh & kStrictHandle) != 0 || (fi->flags & (O_SYNC | O_DSYNC)) != 0;
  Status status = state.io->Write(volume->id, offset, buf, size, strict);
  if (!status.ok()) {
    ReplyStatus(req, status);
    return;
  }
  fuse_reply_write(req, size);
}

// fsync and fdatasync are the durability point. close() (flush) is not:
// a disk's contract knows no close, and filesystems on a loop device
// never close anyway.
void OnFsync(fuse_req_t req, fuse_ino_t /*ino*/, int /*datasync*/, struct fuse_file_info* /*fi*/) {
  ReplyStatus(req, StateOf(req).io->Flush());
}

void OnNoOp(fuse_req_t req, fuse_ino_t /*ino*/, struct fuse_file_info* /*fi*/) {
  fuse_reply_err(req, 0);
}

// Reports the volumes as a full disk: blocks = their total size, nothing
// free. That is the truth (no file can be created), and writing inside a
// volume never needs free space, so tools that look at df are not misled.
void OnStatfs(fuse_req_t req, fuse_ino_t /*ino*/) {
  const FsState& state = StateOf(req);
  uint64_t total = 0;
  for (const VolumeSpec& volume : state.volumes) total += volume.size;
  struct statvfs sv = {};
  sv.f_bsize = kStatfsBlockSize;
  sv.f_frsize = kStatfsBlockSize;
  sv.f_blocks = (total + kStatfsBlockSize - 1) / kStatfsBlockSize;
  sv.f_files = state.volumes.size() + 1;
  sv.f_namemax = 255;
  fuse_reply_statfs(req, &sv);
}

// The set of files is the RVG's configuration; it does not change here.
void Refuse(fuse_req_t req) { fuse_reply_err(req, EPERM); }

const struct fuse_lowlevel_ops kOps = [] {
  struct fuse_lowlevel_ops ops = {};
  ops.init = OnInit;
  ops.lookup = OnLookup;
  ops.getattr = OnGetattr;
  ops.setattr = OnSetattr;
  ops.readdir = OnReaddir;
  ops.open = OnOpen;
  ops.read = OnRead;
  ops.write = OnWrite;
  ops.fsync = OnFsync;
  ops.flush = OnNoOp;
  ops.release = OnNoOp;
  ops.statfs = OnStatfs;
  ops.create = [](fuse_req_t r, fuse_ino_t, const char*, mode_t, fuse_file_info*) { Refuse(r); };
  ops.mknod = [](fuse_req_t r, fuse_ino_t, const char*, mode_t, dev_t) { Refuse(r); };
  ops.mkdir = [](fuse_req_t r, fuse_ino_t, const char*, mode_t) { Refuse(r); };
  ops.unlink = [](fuse_req_t r, fuse_ino_t, const char*) { Refuse(r); };
  ops.rmdir = [](fuse_req_t r, fuse_ino_t, const char*) { Refuse(r); };
  ops.symlink = [](fuse_req_t r, const char*, fuse_ino_t, const char*) { Refuse(r); };
  ops.link = [](fuse_req_t r, fuse_ino_t, fuse_ino_t, const char*) { Refuse(r); };
  ops.rename = [](fuse_req_t r, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) {
    Refuse(r);
  };
  return ops;
}();

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
  if (rc != 0) return Status::FromErrno(rc, "cannot unmount " + mountpoint + ": running fusermount3");
  int wait_status = 0;
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
  impl->session = fuse_session_new(&args, &kOps, sizeof(kOps), &impl->state);
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

Status RvgFs::Unmount() {
  Impl& impl = *impl_;
  if (impl.session == nullptr) return Status::Ok();
  if (impl.mounted) {
    Status status = KernelUnmount(impl.mountpoint, impl.connection);
    if (!status.ok()) return status;
    impl.mounted = false;
  }
  impl.StopLoop();
  impl.DestroySession();
  return Status::Ok();
}

RvgFs::~RvgFs() {
  impl_->StopLoop();
  impl_->DestroySession();
}

}  // namespace rvg
