#include "core/unapplied_writes.h"

#include <algorithm>
#include <cstring>

namespace rvg {

void UnappliedWrites::Add(const WriteRecord& record) {
  std::lock_guard<std::mutex> lock(mu_);
  records_.push_back(record);
  held_bytes_ += record.length;
}

void UnappliedWrites::CollectUpTo(uint64_t seq, std::vector<WriteRecord>* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const WriteRecord& r : records_) {
    if (r.seq > seq) break;
    out->push_back(r);
  }
}

void UnappliedWrites::RemoveUpTo(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  while (!records_.empty() && records_.front().seq <= seq) {
    held_bytes_ -= records_.front().length;
    records_.pop_front();
  }
}

namespace {

bool Overlaps(const WriteRecord& r, uint32_t volume, uint64_t offset, uint64_t length) {
  return r.volume == volume && r.offset < offset + length && offset < r.offset + r.length;
}

}  // namespace

void UnappliedWrites::CollectOverlapping(uint32_t volume, uint64_t offset, uint64_t length,
                                         std::vector<WriteRecord>* out) const {
  out->clear();
  std::lock_guard<std::mutex> lock(mu_);
  // A linear scan: the set holds at most the records appended since the
  // flusher's last apply, a few batches.
  for (const WriteRecord& r : records_) {
    if (Overlaps(r, volume, offset, length)) out->push_back(r);
  }
}

bool UnappliedWrites::AnyOverlapping(uint32_t volume, uint64_t offset, uint64_t length) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const WriteRecord& r : records_) {
    if (Overlaps(r, volume, offset, length)) return true;
  }
  return false;
}

void UnappliedWrites::LayOver(const std::vector<WriteRecord>& records, uint64_t offset,
                              uint8_t* buf, uint64_t length) {
  for (const WriteRecord& r : records) {
    uint64_t begin = std::max(offset, r.offset);
    uint64_t end = std::min(offset + length, r.offset + r.length);
    if (begin >= end) continue;
    std::memcpy(buf + (begin - offset), r.data->data() + (begin - r.offset), end - begin);
  }
}

uint64_t UnappliedWrites::held_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_bytes_;
}

}  // namespace rvg
