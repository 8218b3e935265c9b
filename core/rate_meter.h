// RateMeter: the rate of a growing byte count over a recent sliding window,
// and the ETA it gives — the "410 MiB/s ETA 5s" of a resync's progress in
// `status` and in rvgadm's progress bar (DESIGN.md, "Resync and verify").
//
// Pure: no clock of its own (every call takes `now`), no I/O, no lock; the
// caller serialises calls. So it is unit-tested on a fake clock, without
// sleeping.
//
// Model: the caller records the cumulative count whenever it likes
// (RlinkSender does at every turn of its loop). The meter keeps samples at
// least window/kSlots apart (a closer one replaces the newest, so memory is
// bounded whatever the call rate) and drops those older than the window,
// keeping one at or before the window's start so the span stays a whole
// window. The rate is (newest count - oldest count) / (now - oldest time):
// measured up to `now`, not to the newest sample, so a transfer that stalls
// shows its rate falling instead of the last good figure for ever. Unknown
// (nullopt) until the samples span kMinSpan: a rate from a few
// milliseconds would be noise, and an ETA from it a lie.
//
// Why a window and not the average since the start: a resync's rate
// changes (a bandwidth_limit set live, a secondary that slows down, a
// reconnect), and the ETA should follow what the link does now.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

namespace rvg {

class RateMeter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration kDefaultWindow = std::chrono::seconds(10);
  static constexpr Clock::duration kMinSpan = std::chrono::milliseconds(1000);
  static constexpr int kSlots = 50;

  explicit RateMeter(Clock::duration window = kDefaultWindow);

  // Forgets every sample (a new transfer starts, or the count went back).
  void Reset();
  // The cumulative count is `total` at `now`. A count smaller than the
  // last one recorded starts the meter over from it.
  void Record(uint64_t total, Clock::time_point now);
  // Units per second over the window ending at `now`; nullopt while
  // unknown (fewer than kMinSpan of samples).
  std::optional<double> Rate(Clock::time_point now) const;

  // Seconds to move `remaining` more at `rate`: nullopt when the rate is
  // unknown or zero (a stalled transfer has no ETA), 0 when nothing remains.
  static std::optional<double> Eta(uint64_t remaining, std::optional<double> rate);

  size_t samples() const { return samples_.size(); }  // for tests

 private:
  struct Sample {
    Clock::time_point at;
    uint64_t total;
  };
  void Trim(Clock::time_point now);

  const Clock::duration window_;
  std::deque<Sample> samples_;
};

}  // namespace rvg
