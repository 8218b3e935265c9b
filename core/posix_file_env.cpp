// FileEnv::Posix(): core/'s files on the real file system.
#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/file_env.h"

namespace rvg {

namespace {

// Who holds the flock on the file behind `fd`, from /proc/locks
// ("ID: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE START END", device numbers
// in hex): "pid N (COMM)", or "another process" when it cannot be told.
std::string LockHolder(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return "another process";
  const std::string wanted = fmt::format("{:02x}:{:02x}:{}", major(st.st_dev), minor(st.st_dev),
                                         static_cast<uint64_t>(st.st_ino));
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string id, kind, mode, access, pid, file;
    if (!(fields >> id >> kind >> mode >> access >> pid >> file)) continue;
    if (kind != "FLOCK" || file != wanted) continue;  // "->" lines are waiters: kind is "->"
    std::ifstream comm("/proc/" + pid + "/comm");
    std::string name;
    std::getline(comm, name);
    return "pid " + pid + (name.empty() ? "" : " (" + name + ")");
  }
  return "another process";
}

class PosixFile : public File {
 public:
  PosixFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFile() override { ::close(fd_); }

  Status ReadAt(uint64_t offset, const iovec* iov, size_t count) const override {
    return Transfer(offset, iov, count, false);
  }
  Status WriteAt(uint64_t offset, const iovec* iov, size_t count) override {
    return Transfer(offset, iov, count, true);
  }
  Status Sync() override {
    int rc;
    do {
      rc = ::fdatasync(fd_);
    } while (rc != 0 && errno == EINTR);
    return rc == 0 ? Status::Ok() : Status::FromErrno(errno, "syncing " + path_);
  }
  Result<uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Status::FromErrno(errno, "examining " + path_);
    return static_cast<uint64_t>(st.st_size);
  }
  Status SetSize(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) == 0) return Status::Ok();
    return Status::FromErrno(errno, fmt::format("sizing {} to {} bytes", path_, size));
  }
  Status Allocate(uint64_t size) override {
    int err = ::posix_fallocate(fd_, 0, static_cast<off_t>(size));
    if (err == 0) return Status::Ok();
    return Status::FromErrno(err, fmt::format("allocating {} bytes for {}", size, path_));
  }
  const std::string& path() const override { return path_; }
  int native_fd() const override { return fd_; }
  Status Lock() override {
    // flock, not fcntl: a POSIX lock belongs to the process and would be
    // dropped when any other fd of the file in it is closed.
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return Status::Ok();
    if (errno != EWOULDBLOCK) return Status::FromErrno(errno, "locking " + path_);
    return Status::Error(path_ + " is in use by " + LockHolder(fd_) +
                             ": only one rvgd may use an RVG's SRL and images; stop the other "
                             "(or give this RVG files of its own)",
                         EWOULDBLOCK);
  }

 private:
  // Moves every byte, retrying after EINTR and short transfers. Works on a
  // copy of the iovecs because it consumes them as it goes.
  Status Transfer(uint64_t offset, const iovec* iov_in, size_t count, bool is_write) const {
    std::vector<iovec> iov(iov_in, iov_in + count);
    size_t first = 0;
    while (first < iov.size()) {
      if (iov[first].iov_len == 0) {
        ++first;
        continue;
      }
      int batch = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
      ssize_t n = is_write ? ::pwritev(fd_, &iov[first], batch, static_cast<off_t>(offset))
                           : ::preadv(fd_, &iov[first], batch, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, fmt::format("{} {} at offset {}",
                                                    is_write ? "writing" : "reading", path_,
                                                    offset));
      }
      if (n == 0) {
        return Status::Error(fmt::format("{} ends at offset {}, before the data does; was it "
                                         "truncated?",
                                         path_, offset));
      }
      offset += static_cast<uint64_t>(n);
      auto done = static_cast<size_t>(n);
      while (done > 0) {
        size_t step = std::min(done, iov[first].iov_len);
        iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + step;
        iov[first].iov_len -= step;
        done -= step;
        if (iov[first].iov_len == 0) ++first;
      }
    }
    return Status::Ok();
  }

  const std::string path_;
  const int fd_;
};

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

class PosixFileEnv : public FileEnv {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "opening " + path);
    return std::unique_ptr<File>(new PosixFile(path, fd));
  }
  Result<std::unique_ptr<File>> Create(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Status::FromErrno(errno, "creating " + path);
    return std::unique_ptr<File>(new PosixFile(path, fd));
  }
  Result<FileInfo> Stat(const std::string& path) override {
    struct stat st;
    FileInfo info;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return info;
      return Status::FromErrno(errno, "examining " + path);
    }
    info.exists = true;
    info.regular = S_ISREG(st.st_mode);
    info.size = static_cast<uint64_t>(st.st_size);
    return info;
  }
  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) == 0 || errno == ENOENT) return Status::Ok();
    return Status::FromErrno(errno, "removing " + path);
  }
  Status SyncDirOf(const std::string& path) override {
    std::string dir = DirOf(path);
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "opening directory " + dir);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    // Some file systems cannot fsync a directory (EINVAL); their directory
    // entries are then as durable as they can be made.
    if (rc != 0 && err != EINVAL) return Status::FromErrno(err, "syncing directory " + dir);
    return Status::Ok();
  }
};

}  // namespace

FileEnv* FileEnv::Posix() {
  static PosixFileEnv* env = new PosixFileEnv();
  return env;
}

}  // namespace rvg
