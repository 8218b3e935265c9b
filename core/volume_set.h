// VolumeSet: the image files that back the volumes of one RVG on this host.
//
// Positioned I/O through a FileEnv (POSIX in production) on already-validated
// ranges. Thread-safe: every call is a positioned operation on a file that
// does not change while the set is open.
#pragma once

#include <memory>
#include <vector>

#include "core/file_env.h"
#include "core/status.h"
#include "core/volume.h"

namespace rvg {

class VolumeSet {
 public:
  // Creates each image as a sparse file of the volume's size. An existing
  // file of exactly that size is accepted as is (an administrator's own
  // image); any other existing file is an error, so nothing is clobbered.
  // When it returns OK, the new images and their sizes survive a power cut
  // (file and directory synced).
  static Status CreateImages(const std::vector<VolumeSpec>& specs,
                             FileEnv* env = FileEnv::Posix());

  // Opens every image read-write and checks that its size matches.
  static Result<std::unique_ptr<VolumeSet>> Open(const std::vector<VolumeSpec>& specs,
                                                 FileEnv* env = FileEnv::Posix());

  // Takes the exclusive lock on every image (File::Lock), held until the
  // set is destroyed. Whoever writes the images for an RVG — rvgd — locks
  // them first, so that a second writer fails with a message naming the
  // image and the holder. Readers (tests reading back what the engine
  // wrote) need not lock.
  Status Lock();

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
  // The image's File::native_fd() (-1 when it has none or no such volume).
  int NativeFd(uint32_t volume) const;
  // fdatasync of every image. After a failure, what was written since the
  // last good sync must be taken as lost (see file_env.h).
  Status SyncAll();

 private:
  VolumeSet(std::vector<VolumeSpec> specs, std::vector<std::unique_ptr<File>> files);
  File* FileOf(uint32_t volume) const;

  std::vector<VolumeSpec> specs_;
  std::vector<std::unique_ptr<File>> files_;  // parallel to specs_
};

}  // namespace rvg
