// VolumeSet: the image files that back the volumes of one RVG on this host.
//
// Positioned I/O through a FileEnv (POSIX in production) on already-validated
// ranges. Thread-safe: every call is a positioned operation on a file that
// does not change while the set is open, and the per-image write counts
// that SyncAll() consults are atomics.
//
// SyncAll() fdatasyncs only the images written since their last good sync.
// Each image counts its completed writes (`written`, bumped after the
// write returns, failed writes too) and remembers the count a successful
// sync started from (`synced`). A sync reads `written` BEFORE it calls
// fdatasync, so every write counted there had returned, i.e. was in the
// page cache, when fdatasync began, and is covered by it. A write that
// completes while the sync runs bumps `written` past what the sync read:
// the image stays dirty and the next SyncAll() syncs it again. (Counting
// a write when it is issued would be wrong: a write issued before the
// sync but landing after fdatasync began would be counted as synced.)
// Invariant: every write that returned before SyncAll() was called is
// durable when it returns OK. An image counts as dirty from Open(), so
// the first SyncAll() of a process syncs every image, whatever an earlier
// process left in the page cache.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "core/file_env.h"
#include "core/record.h"
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
  // Writes records[0..count) to their images in that order, with as few
  // system calls as possible: a run of records where each starts on the
  // same volume exactly where the previous one ended goes in one pwritev
  // (one iovec per record, at most kMaxRunRecords of them). Nothing is
  // reordered or merged otherwise, so a later record that overwrites an
  // earlier one still lands last. `*written` is set to how many records,
  // from the front, are fully written; on an error it is where the failed
  // run starts (the run's records may be partly on the image: the caller
  // treats them as not applied). Ranges are checked like Write()'s.
  // `start_writeback`: a hint for bulk transfers (a resync) that changes
  // nothing a reader or a power cut can see: after each pwritev, begin
  // writing its range back to the disk (sync_file_range), so that the disk
  // works while the next ones are copied in and the next SyncAll, which
  // alone makes them durable and reports any error, finds less to wait
  // for. (Reading ahead the same way, posix_fadvise WILLNEED, made a
  // resync's reads slower here: the hint blocks while it queues the I/O.)
  Status WriteRecords(const WriteRecord* records, size_t count, size_t* written,
                      bool start_writeback = false);
  static constexpr size_t kMaxRunRecords = 1024;  // IOV_MAX on Linux
  // Short reads do not happen on a correctly sized image; they are errors.
  Status Read(uint32_t volume, uint64_t offset, void* buf, size_t length) const;
  // The image's File::native_fd() (-1 when it has none or no such volume).
  int NativeFd(uint32_t volume) const;
  // True when the range holds no data in the image file (a hole: it reads
  // as zeros) by the filesystem's SEEK_DATA, asked only of filesystems known
  // to count dirty page-cache pages as data (ext4, XFS, btrfs, tmpfs). False
  // when it has data or cannot tell (another filesystem; no native file: a
  // test env). Lets a resync or a range check skip reading sparse images.
  bool IsHole(uint32_t volume, uint64_t offset, uint64_t length) const;
  // fdatasync of every image written since its last good sync (see the
  // header comment). After a failure, what was written since the last good
  // sync must be taken as lost (see file_env.h).
  Status SyncAll();

 private:
  // Writes and syncs of one image (see the header comment). Invariant:
  // synced <= written.
  struct WriteCounts {
    std::atomic<uint64_t> written{1};  // dirty from Open()
    std::atomic<uint64_t> synced{0};
  };

  VolumeSet(std::vector<VolumeSpec> specs, std::vector<std::unique_ptr<File>> files);
  // Index of `volume` in specs_, or specs_.size() when there is none.
  size_t IndexOf(uint32_t volume) const;
  Status WriteAt(size_t index, uint64_t offset, const iovec* iov, size_t count);

  std::vector<VolumeSpec> specs_;
  std::vector<std::unique_ptr<File>> files_;  // parallel to specs_
  std::unique_ptr<WriteCounts[]> counts_;     // parallel to specs_
};

}  // namespace rvg
