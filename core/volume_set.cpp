#include "core/volume_set.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace rvg {

namespace {

std::string DescribeVolume(const VolumeSpec& spec) {
  return "volume " + spec.name + " (image " + spec.path + ")";
}

// Creates one image. `*created` tells the caller whether a new file now
// exists that it may have to remove again if a later image fails.
Status CreateImage(const VolumeSpec& spec, bool* created) {
  *created = false;
  int fd = ::open(spec.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    if (err != EEXIST) return Status::FromErrno(err, "creating image " + spec.path);
    struct stat st;
    if (::stat(spec.path.c_str(), &st) != 0) {
      return Status::FromErrno(errno, "checking existing image " + spec.path);
    }
    if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) == spec.size) {
      return Status::Ok();
    }
    return Status::Error("image " + spec.path + " exists with size " +
                             std::to_string(st.st_size) + ", volume " + spec.name + " needs " +
                             std::to_string(spec.size) + "; remove it or pick another path",
                         EEXIST);
  }
  *created = true;
  // ftruncate leaves the file sparse: no block is allocated until written.
  Status status;
  if (::ftruncate(fd, static_cast<off_t>(spec.size)) != 0) {
    status = Status::FromErrno(errno, "sizing image " + spec.path + " to " +
                                          std::to_string(spec.size) + " bytes");
  }
  if (::close(fd) != 0 && status.ok()) {
    status = Status::FromErrno(errno, "closing image " + spec.path);
  }
  return status;
}

void CloseAll(const std::vector<int>& fds) {
  for (int fd : fds) ::close(fd);
}

}  // namespace

Status VolumeSet::CreateImages(const std::vector<VolumeSpec>& specs) {
  // Images this call created are removed again on failure, so a retry after
  // fixing the problem does not trip over half of a previous attempt.
  std::vector<std::string> created_paths;
  for (const VolumeSpec& spec : specs) {
    bool created = false;
    Status status = CreateImage(spec, &created);
    if (created) created_paths.push_back(spec.path);
    if (!status.ok()) {
      for (const std::string& path : created_paths) ::unlink(path.c_str());
      return status;
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<VolumeSet>> VolumeSet::Open(const std::vector<VolumeSpec>& specs) {
  std::vector<int> fds;
  fds.reserve(specs.size());
  for (const VolumeSpec& spec : specs) {
    int fd = ::open(spec.path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      CloseAll(fds);
      return Status::FromErrno(err, "opening image of " + DescribeVolume(spec));
    }
    fds.push_back(fd);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      CloseAll(fds);
      return Status::FromErrno(err, "checking image of " + DescribeVolume(spec));
    }
    if (static_cast<uint64_t>(st.st_size) != spec.size) {
      CloseAll(fds);
      return Status::Error("image " + spec.path + " has size " + std::to_string(st.st_size) +
                               ", volume " + spec.name + " needs " + std::to_string(spec.size) +
                               "; was the image resized or replaced?",
                           EINVAL);
    }
  }
  return std::unique_ptr<VolumeSet>(new VolumeSet(specs, std::move(fds)));
}

VolumeSet::VolumeSet(std::vector<VolumeSpec> specs, std::vector<int> fds)
    : specs_(std::move(specs)), fds_(std::move(fds)) {}

VolumeSet::~VolumeSet() { CloseAll(fds_); }

// An RVG has a handful of volumes, so a linear scan beats any index.
const VolumeSpec* VolumeSet::Find(uint32_t volume) const {
  for (const VolumeSpec& spec : specs_) {
    if (spec.id == volume) return &spec;
  }
  return nullptr;
}

int VolumeSet::FdOf(uint32_t volume) const {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].id == volume) return fds_[i];
  }
  return -1;
}

Status VolumeSet::CheckRange(uint32_t volume, uint64_t offset, uint64_t length) const {
  const VolumeSpec* spec = Find(volume);
  if (spec == nullptr) {
    return Status::Error("no volume with id " + std::to_string(volume) + " in this RVG", EINVAL);
  }
  // Written as a subtraction so that offset + length cannot overflow.
  if (offset > spec->size || length > spec->size - offset) {
    return Status::Error("I/O of " + std::to_string(length) + " bytes at offset " +
                             std::to_string(offset) + " is past the end of volume " +
                             spec->name + " (size " + std::to_string(spec->size) + ")",
                         ENOSPC);
  }
  return Status::Ok();
}

Status VolumeSet::Write(uint32_t volume, uint64_t offset, const void* data, size_t length) {
  Status status = CheckRange(volume, offset, length);
  if (!status.ok()) return status;
  const int fd = FdOf(volume);
  const char* bytes = static_cast<const char*>(data);
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pwrite(fd, bytes + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "writing " + std::to_string(length) + " bytes at offset " +
                                          std::to_string(offset) + " to " +
                                          DescribeVolume(*Find(volume)));
    }
    if (n == 0) {
      // A regular file never accepts zero bytes without an error; bail out
      // rather than spin.
      return Status::Error("writing to " + DescribeVolume(*Find(volume)) + " made no progress");
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status VolumeSet::Read(uint32_t volume, uint64_t offset, void* buf, size_t length) const {
  Status status = CheckRange(volume, offset, length);
  if (!status.ok()) return status;
  const int fd = FdOf(volume);
  char* bytes = static_cast<char*>(buf);
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, bytes + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "reading " + std::to_string(length) + " bytes at offset " +
                                          std::to_string(offset) + " from " +
                                          DescribeVolume(*Find(volume)));
    }
    if (n == 0) {
      return Status::Error("image of " + DescribeVolume(*Find(volume)) + " ends at " +
                           std::to_string(offset + done) +
                           ", before the volume does; was it truncated?");
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status VolumeSet::SyncAll() {
  // Every image is synced even after a failure, so one bad image does not
  // leave the others unsynced; the first error is the one reported.
  Status first_error;
  for (size_t i = 0; i < fds_.size(); ++i) {
    int rc;
    do {
      rc = ::fdatasync(fds_[i]);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0 && first_error.ok()) {
      first_error = Status::FromErrno(errno, "syncing " + DescribeVolume(specs_[i]));
    }
  }
  return first_error;
}

}  // namespace rvg
