// ReorderBuffer: the secondary's holding area that turns writes arriving in
// any order (several streams, resends after a reconnect) back into the
// primary's seq order.
//
// Invariant: Pop() hands out records with seqs applied+1, applied+2, ...
// with no gap and no repeat, so a secondary applies a strict prefix of the
// primary's history. A record whose seq was already handed out, or is
// already held, is a duplicate and is dropped.
//
// Memory is bounded against any peer (ReorderLimits): a record too far
// past the contiguous run, or one that would push the held data over the
// byte limit, is refused. Refused seqs count as missing in FirstGap(), so
// the NACK path asks for them again once there is room, even when nothing
// is held beyond them. The record that extends the contiguous run is
// refused only while the held data alone is over the limit, since what it
// extends is ready for the apply thread. A primary's window (RlinkSender:
// 64 MiB and 65536 writes in flight, i.e. at most 64 MiB + 16 MiB of
// overhead) stays inside the default limits, so they bite only a peer
// that ignores it.
//
// Not thread-safe; the owner serializes access.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "core/record.h"

namespace rvg {

struct ReorderLimits {
  // How far past contiguous_seq() a record may lie.
  uint64_t max_seqs_ahead = 1ull << 18;
  // The most held data, counting kRecordOverhead per record besides its
  // bytes (a flood of tiny writes costs memory too).
  uint64_t max_held_bytes = 160ull << 20;
};

class ReorderBuffer {
 public:
  // What one held record costs beyond its data: map node, record, buffer.
  static constexpr uint64_t kRecordOverhead = 256;

  // `next_seq` is the first seq to hand out (applied_seq + 1, so >= 1).
  explicit ReorderBuffer(uint64_t next_seq, ReorderLimits limits = {});

  enum class Offer { kAccepted, kDuplicate, kTooFarAhead, kNoRoom };
  Offer Add(WriteRecord record);

  // Removes and returns the run of consecutive records starting at
  // next_seq() (empty when that seq has not arrived).
  std::vector<WriteRecord> PopReady();

  // Restarts the sequence at `next_seq`, dropping everything held (used
  // when a new primary session resumes from a different point).
  void Reset(uint64_t next_seq);

  // Drops every held record past the contiguous run — what a new session
  // must send again rather than find planted by the old one. Returns how
  // many were dropped.
  size_t DropAhead();

  uint64_t next_seq() const { return next_seq_; }
  // Highest seq such that every seq up to it has arrived, counting records
  // already popped (the net-ack point). next_seq() - 1 when next_seq() has
  // not arrived.
  uint64_t contiguous_seq() const;
  // The first hole, for NACKs: the inclusive range {first, last} of missing
  // seqs that starts right after contiguous_seq() and ends just before the
  // next held seq — or, with nothing held beyond, at the highest seq
  // refused for room; nullopt when neither exists.
  std::optional<std::pair<uint64_t, uint64_t>> FirstGap() const;
  size_t held_records() const { return held_.size(); }
  uint64_t held_bytes() const { return held_bytes_; }

 private:
  uint64_t held_cost() const { return held_bytes_ + held_.size() * kRecordOverhead; }
  Offer Refuse(uint64_t seq, Offer why);

  const ReorderLimits limits_;
  uint64_t next_seq_;
  // Invariant: every seq in [next_seq_, contiguous_seq_] is in held_ and
  // contiguous_seq_ + 1 is not. Kept up to date by Add() so that the
  // net-ack point costs nothing to read.
  uint64_t contiguous_seq_;
  std::map<uint64_t, WriteRecord> held_;
  uint64_t held_bytes_ = 0;
  uint64_t highest_refused_ = 0;  // highest seq refused for room (0: none)
};

}  // namespace rvg
