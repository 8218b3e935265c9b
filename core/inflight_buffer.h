// InflightBuffer: the most recent sequenced writes, kept in memory so that
// RLINKs that keep up send from memory instead of reading the SRL back.
//
// It holds a contiguous run of seqs [first_seq(), last_seq()] and at most
// `budget_bytes` of data (always at least the newest record). When a new
// record pushes it over budget the oldest records are dropped; an RLINK that
// still needs them reads them back from the SRL (VVR's read-back). The
// records share their data buffers with everyone else that holds them.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

#include "core/record.h"

namespace rvg {

class InflightBuffer {
 public:
  explicit InflightBuffer(uint64_t budget_bytes) : budget_bytes_(budget_bytes) {}

  // `record.seq` must be last_seq() + 1, or anything when empty.
  void Add(const WriteRecord& record);

  // The record with `seq`, if still held.
  std::optional<WriteRecord> Find(uint64_t seq) const;

  uint64_t held_bytes() const;

 private:
  const uint64_t budget_bytes_;
  mutable std::mutex mu_;
  std::deque<WriteRecord> records_;  // consecutive seqs, oldest first
  uint64_t held_bytes_ = 0;
};

}  // namespace rvg
