#include "core/inflight_buffer.h"

namespace rvg {

void InflightBuffer::Add(const WriteRecord& record) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!records_.empty() && records_.back().seq + 1 != record.seq) {
    // A break in the run (cannot happen while the engine appends in order)
    // would make Find() index wrongly: start over rather than lie.
    records_.clear();
    held_bytes_ = 0;
  }
  records_.push_back(record);
  held_bytes_ += record.length;
  while (records_.size() > 1 && held_bytes_ > budget_bytes_) {
    held_bytes_ -= records_.front().length;
    records_.pop_front();
  }
}

std::optional<WriteRecord> InflightBuffer::Find(uint64_t seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (records_.empty() || seq < records_.front().seq || seq > records_.back().seq) {
    return std::nullopt;
  }
  return records_[seq - records_.front().seq];
}

uint64_t InflightBuffer::held_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_bytes_;
}

}  // namespace rvg
