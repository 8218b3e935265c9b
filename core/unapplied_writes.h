// UnappliedWrites: the primary's writes that are in the SRL but not yet on
// the local images, kept in memory so that reads see them.
//
// Why it exists: a record may reach an image only after the SRL holds it
// durably (otherwise kernel writeback could make the image durable ahead of
// the log, and after a power cut the image would hold a write that no log
// and no secondary has). Between the append and the apply, the newest data
// of a range lives only here and in the SRL; a read takes the image's bytes
// and lays these records over them in seq order (VVR serves reads the same
// way while the data volume write is pending).
//
// Invariant: holds a run of consecutive seqs, oldest first; a record is
// removed only after its image write completed. A reader that snapshots the
// records (under the lock) before reading the image therefore never misses
// a write that completed before the read began: it is either in the
// snapshot or already on the image.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "core/record.h"

namespace rvg {

class UnappliedWrites {
 public:
  // `record.seq` follows the newest held record.
  void Add(const WriteRecord& record);

  // Appends the held records with seq <= `seq` to `out`, oldest first.
  void CollectUpTo(uint64_t seq, std::vector<WriteRecord>* out) const;

  // Drops the records with seq <= `seq` (they are on the images now).
  void RemoveUpTo(uint64_t seq);

  // The held records that overlap [offset, offset + length) of `volume`,
  // oldest first, into `out` (cleared first).
  void CollectOverlapping(uint32_t volume, uint64_t offset, uint64_t length,
                          std::vector<WriteRecord>* out) const;
  // Whether any held record overlaps that range.
  bool AnyOverlapping(uint32_t volume, uint64_t offset, uint64_t length) const;

  // Copies the parts of `records` (oldest first) that overlap
  // [offset, offset + length) into `buf`, which holds that range.
  static void LayOver(const std::vector<WriteRecord>& records, uint64_t offset, uint8_t* buf,
                      uint64_t length);

  uint64_t held_bytes() const;

 private:
  mutable std::mutex mu_;
  std::deque<WriteRecord> records_;
  uint64_t held_bytes_ = 0;
};

}  // namespace rvg
