// VolumeSet: the image files that back the volumes of one RVG on this host.
//
// Plain POSIX file I/O (pread/pwrite/fdatasync) on already-validated
// ranges. Thread-safe: every call is a positioned system call on an fd that
// does not change while the set is open.
#pragma once

#include <memory>
#include <vector>

#include "core/status.h"
#include "core/volume.h"

namespace rvg {

class VolumeSet {
 public:
  // Creates each image as a sparse file of the volume's size. An existing
  // file of exactly that size is accepted as is (an administrator's own
  // image); any other existing file is an error, so nothing is clobbered.
  static Status CreateImages(const std::vector<VolumeSpec>& specs);

  // Opens every image read-write and checks that its size matches.
  static Result<std::unique_ptr<VolumeSet>> Open(const std::vector<VolumeSpec>& specs);

  ~VolumeSet();
  VolumeSet(const VolumeSet&) = delete;
  VolumeSet& operator=(const VolumeSet&) = delete;

  const std::vector<VolumeSpec>& specs() const { return specs_; }
  // nullptr when no volume has that id.
  const VolumeSpec* Find(uint32_t volume) const;

  // OK when `volume` exists and [offset, offset + length) lies inside it;
  // otherwise an error naming the volume and the range (code EINVAL, or
  // ENOSPC for a range past the end, which is what a write past the end of
  // a block device reports).
  Status CheckRange(uint32_t volume, uint64_t offset, uint64_t length) const;

  Status Write(uint32_t volume, uint64_t offset, const void* data, size_t length);
  // Short reads do not happen on a correctly sized image; they are errors.
  Status Read(uint32_t volume, uint64_t offset, void* buf, size_t length) const;
  Status SyncAll();

 private:
  VolumeSet(std::vector<VolumeSpec> specs, std::vector<int> fds);
  int FdOf(uint32_t volume) const;

  std::vector<VolumeSpec> specs_;
  std::vector<int> fds_;  // parallel to specs_
};

}  // namespace rvg
