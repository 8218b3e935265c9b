#include "core/reorder_buffer.h"

#include <algorithm>
#include <utility>

namespace rvg {

ReorderBuffer::ReorderBuffer(uint64_t next_seq, ReorderLimits limits)
    : limits_(limits), next_seq_(next_seq), contiguous_seq_(next_seq - 1) {}

ReorderBuffer::Offer ReorderBuffer::Add(WriteRecord record) {
  const uint64_t seq = record.seq;
  if (seq < next_seq_ || held_.count(seq) != 0) return Offer::kDuplicate;
  if (seq - contiguous_seq_ > limits_.max_seqs_ahead) return Refuse(seq, Offer::kTooFarAhead);
  const uint64_t cost = record.length + kRecordOverhead;
  const bool extends_run = seq == contiguous_seq_ + 1;
  if (extends_run ? held_cost() > limits_.max_held_bytes
                  : held_cost() + cost > limits_.max_held_bytes) {
    return Refuse(seq, Offer::kNoRoom);
  }
  held_bytes_ += record.length;
  held_.emplace(seq, std::move(record));
  if (seq == contiguous_seq_ + 1) {
    // The new record may close a hole; extend over whatever already waited
    // behind it.
    auto it = held_.find(seq);
    while (it != held_.end() && it->first == contiguous_seq_ + 1) {
      ++contiguous_seq_;
      ++it;
    }
  }
  return Offer::kAccepted;
}

ReorderBuffer::Offer ReorderBuffer::Refuse(uint64_t seq, Offer why) {
  highest_refused_ = std::max(highest_refused_, seq);
  return why;
}

std::vector<WriteRecord> ReorderBuffer::PopReady() {
  // Popping only removes seqs <= contiguous_seq_, so that stays valid.
  std::vector<WriteRecord> ready;
  auto it = held_.begin();
  while (it != held_.end() && it->first == next_seq_) {
    held_bytes_ -= it->second.length;
    ready.push_back(std::move(it->second));
    it = held_.erase(it);
    ++next_seq_;
  }
  return ready;
}

void ReorderBuffer::Reset(uint64_t next_seq) {
  held_.clear();
  held_bytes_ = 0;
  highest_refused_ = 0;
  next_seq_ = next_seq;
  contiguous_seq_ = next_seq - 1;
}

size_t ReorderBuffer::DropAhead() {
  size_t dropped = 0;
  for (auto it = held_.upper_bound(contiguous_seq_); it != held_.end(); ++dropped) {
    held_bytes_ -= it->second.length;
    it = held_.erase(it);
  }
  return dropped;
}

uint64_t ReorderBuffer::contiguous_seq() const { return contiguous_seq_; }

std::optional<std::pair<uint64_t, uint64_t>> ReorderBuffer::FirstGap() const {
  auto after = held_.upper_bound(contiguous_seq_);
  if (after != held_.end()) return std::make_pair(contiguous_seq_ + 1, after->first - 1);
  // Nothing held ahead, but records were refused for room: they are a gap
  // too, or nobody would ask for them again.
  if (highest_refused_ > contiguous_seq_) {
    return std::make_pair(contiguous_seq_ + 1, highest_refused_);
  }
  return std::nullopt;
}

}  // namespace rvg
