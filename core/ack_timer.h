// AckTimer: times the acknowledgements of one RLINK's writes. The sender
// notes when it sent each seq; when an ACK raises the net-acked seq (the
// secondary has the write in memory) or the data-acked seq (it is durable
// in the secondary's SRL), every seq the ack newly covers is one sample,
// ack time minus send time, in the net_ack or data_ack LatencyHistogram.
// So each write is counted once per kind, however the acks group them.
//
// The send times live in a ring of `capacity` slots (a power of two,
// allocated once), indexed by seq; a slot also holds its seq, so a slot a
// later write reused is never taken for an older one. A seq with no slot
// of its own when its ack comes (more writes in flight than the ring
// holds) is not timed. A resend (NACK, a new session) overwrites the send
// time: the latency counts from the last send.
//
// Invariant the caller keeps: Resume(seq) whenever acks may jump without
// the writes having been sent in this session — a WELCOME (the secondary
// held up to its applied seq already) and the end of a bitmap resync (the
// resync, not these sends, brought the secondary to its seq) — so that no
// stale slot of an earlier session is timed against a later ack.
//
// Threads: the sender thread calls Sent, Acked and Resume; the histograms
// may be read from any thread (LatencyHistogram). No lock, no allocation
// after construction.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/latency_histogram.h"

namespace rvg {

class AckTimer {
 public:
  using Clock = std::chrono::steady_clock;

  // `capacity` is rounded up to a power of two, at least 1024 and at most
  // 2^20 slots (16 MiB).
  explicit AckTimer(size_t capacity);

  void Sent(uint64_t seq, Clock::time_point now);
  // An ACK: the net-acked and data-acked seqs it reports (each only ever
  // counts where it is higher than before).
  void Acked(uint64_t net_acked, uint64_t data_acked, Clock::time_point now);
  // Seqs up to `seq` are acked without being timed (see the invariant).
  void Resume(uint64_t seq);

  const LatencyHistogram& net_ack() const { return net_ack_; }
  const LatencyHistogram& data_ack() const { return data_ack_; }

 private:
  struct Slot {
    uint64_t seq = 0;  // 0: never used (seqs start at 1)
    Clock::time_point sent;
  };
  // Times the seqs in (*done, acked] into `histogram`; *done becomes acked.
  void Time(uint64_t acked, uint64_t* done, LatencyHistogram& histogram, Clock::time_point now);

  std::vector<Slot> slots_;
  uint64_t mask_;
  uint64_t net_done_ = 0;   // newest seq whose net ack was counted
  uint64_t data_done_ = 0;  // newest seq whose data ack was counted
  LatencyHistogram net_ack_;
  LatencyHistogram data_ack_;
};

}  // namespace rvg
