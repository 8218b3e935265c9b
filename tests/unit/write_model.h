// WriteModel: the oracle of the durability suites. It records the write
// history as the engine sequences it (seq -> volume, offset, data) and keeps
// model images: zero-filled volumes with seqs 1..applied() written in seq
// order. After a crash and recovery to K (a recovered primary's last_seq(),
// a secondary's applied_seq()), the images must equal the model advanced to
// K — "the image equals the replay of the recovered SRL" — judged from the
// history rather than from whatever state the engine had before the crash.
//
// It also tracks which seqs were acknowledged as durable (on a primary by a
// Flush() that returned OK or a strict Write(), on a secondary by a data
// ack), because none of those may be lost.
//
// Seqs above K were lost in the crash: Recovered() forgets them. A primary
// hands them out again, which is correct only because no secondary can
// hold them (the suites run without RLINK senders); a secondary's suite
// feeds the same records again, since its history is the primary's.
//
// Thread-safe. Sequenced() runs under the engine's lock: it only records.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/record.h"
#include "core/volume.h"

namespace rvg::testing {

// Pattern(id, length) with `id` stamped in its first 8 bytes (length >= 8),
// so the model can tell which Write() a sequenced record came from.
std::vector<uint8_t> TaggedData(uint64_t id, size_t length);

class WriteModel {
 public:
  explicit WriteModel(const std::vector<VolumeSpec>& specs);

  // For PrimaryOptions::on_sequenced.
  void Sequenced(const WriteRecord& record);

  // For PrimaryOptions::on_released: seqs from `first` on were handed out
  // but never reached the SRL; they will be handed out again.
  void Released(uint64_t first);

  // The seq given to the write whose data carries `id` (0: not sequenced).
  uint64_t SeqOf(uint64_t id) const;
  // Write() of `seq` returned OK.
  void Answered(uint64_t seq);
  // The highest seq of a write that had returned OK when this was called:
  // a Flush() entered after this call covers it.
  uint64_t answered() const;
  // Every seq up to `seq` was acknowledged as durable (a Flush() or strict
  // write returned OK on a primary, a data ack on a secondary).
  void Acknowledged(uint64_t seq);
  uint64_t acknowledged() const;
  uint64_t applied() const;
  // Seqs handed out but not recovered, over all recoveries (for the tally).
  uint64_t lost() const;

  // The engine recovered to `k` and `images` (parallel to the specs) is
  // what its volumes hold now. Checks k against what must have survived, the images against the model
  // advanced to k, and the seq chain reported by Sequenced(); then moves the
  // model to k and forgets the lost seqs above it. Returns "" when all holds,
  // else a description of what differs (for the failure message).
  std::string Recovered(uint64_t k, const std::vector<std::vector<uint8_t>>& images);

  // A clean stop: the model's history up to the engine's last seq must
  // survive whatever follows.
  void ClosedCleanly(uint64_t last_seq) { Acknowledged(last_seq); }

 private:
  std::string CompareImageLocked(const VolumeSpec& spec, const std::vector<uint8_t>& actual,
                                 uint64_t k) const;
  size_t IndexOf(uint32_t volume) const;

  const std::vector<VolumeSpec> specs_;
  mutable std::mutex mu_;
  std::vector<std::vector<uint8_t>> images_;  // parallel to specs_; seqs 1..applied_
  uint64_t applied_ = 0;
  std::map<uint64_t, WriteRecord> history_;  // seqs above applied_
  std::map<uint64_t, uint64_t> seq_of_id_;
  uint64_t next_seq_ = 1;  // what Sequenced() expects next
  std::string chain_problem_;
  uint64_t answered_ = 0;
  uint64_t acknowledged_ = 0;
  uint64_t lost_ = 0;
};

}  // namespace rvg::testing
