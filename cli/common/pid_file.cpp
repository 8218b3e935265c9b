#include "cli/common/pid_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

namespace rvg {

namespace {

// How often Acquire starts over when the locked file stopped being the one
// at the path. Each round needs someone to delete or replace the file
// between our open and our flock; more than a few in a row is sabotage.
constexpr int kAcquireAttempts = 8;

}  // namespace

Status PidFile::Acquire(const std::string& path) {
  path_ = path;
  for (int attempt = 0; attempt < kAcquireAttempts; ++attempt) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno(errno, "opening " + path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err != EWOULDBLOCK) return Status::FromErrno(err, "locking " + path);
      int holder = ReadPidFile(path);
      return Status::Error("rvgd is already running for this RVG (" +
                               (holder > 0 ? "pid " + std::to_string(holder)
                                           : std::string("pid not written yet")) +
                               " holds " + path + "); stop it first",
                           EWOULDBLOCK);
    }
    struct stat locked, named;
    if (::fstat(fd, &locked) != 0) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "examining " + path);
    }
    if (::stat(path.c_str(), &named) != 0 || named.st_ino != locked.st_ino ||
        named.st_dev != locked.st_dev) {
      ::close(fd);  // locked an orphan: the path names another file now
      continue;
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "writing " + path);
    }
    fd_ = fd;
    return Status::Ok();
  }
  return Status::Error(path + " keeps being replaced while rvgd locks it; is something "
                              "deleting files in the home's run folder?",
                       EAGAIN);
}

PidFile::~PidFile() {
  if (fd_ < 0) return;
  // Emptied under the lock, never unlinked (see the header). Should the
  // truncation fail, the lock's release still tells everyone.
  [[maybe_unused]] int rc = ::ftruncate(fd_, 0);
  ::close(fd_);
}

int ReadPidFile(const std::string& path) {
  std::ifstream file(path);
  int pid = 0;
  if (!(file >> pid) || pid <= 0) return 0;
  return pid;
}

}  // namespace rvg
