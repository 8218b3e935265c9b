#include "core/ack_timer.h"

#include <algorithm>
#include <bit>

namespace rvg {

AckTimer::AckTimer(size_t capacity)
    : slots_(std::bit_ceil(std::clamp<size_t>(capacity, 1024, size_t{1} << 20))),
      mask_(slots_.size() - 1) {}

void AckTimer::Sent(uint64_t seq, Clock::time_point now) {
  Slot& slot = slots_[seq & mask_];
  slot.seq = seq;
  slot.sent = now;
}

void AckTimer::Time(uint64_t acked, uint64_t* done, LatencyHistogram& histogram,
                    Clock::time_point now) {
  if (acked <= *done) return;
  // Seqs further back than the ring reaches have no slot left: skip them
  // without walking them (a first ack after a long silence).
  uint64_t seq = std::max(*done, acked - std::min<uint64_t>(acked, slots_.size())) + 1;
  for (; seq <= acked; ++seq) {
    const Slot& slot = slots_[seq & mask_];
    if (slot.seq == seq) histogram.Record(now - slot.sent);
  }
  *done = acked;
}

void AckTimer::Acked(uint64_t net_acked, uint64_t data_acked, Clock::time_point now) {
  // A data ack implies the write is in the secondary's memory too.
  Time(std::max(net_acked, data_acked), &net_done_, net_ack_, now);
  Time(data_acked, &data_done_, data_ack_, now);
}

void AckTimer::Resume(uint64_t seq) {
  net_done_ = std::max(net_done_, seq);
  data_done_ = std::max(data_done_, seq);
}

}  // namespace rvg
