// TokenBucket: the arithmetic of a byte-rate cap (an RLINK's
// bandwidth_limit). Pure: no clock of its own (every call is given `now`),
// no I/O, no lock; the caller serialises calls. So it is unit-tested with a
// fake clock, and one bucket can serve every kind of traffic of an RLINK
// (replication now, resync later) by being charged for all of it.
//
// Model: a balance of bytes that refills at `rate` bytes per second up to a
// burst of kBurst worth of traffic. A sender may send while the balance is
// not negative and is charged afterwards, so the balance may go into debt
// by at most one message. That is what lets a message larger than the
// burst (a 1 MiB write under a 64 KiB/s cap) go through at all, and it
// keeps the long-run rate exact: every byte sent is paid for before the
// next message goes. The burst only bounds the credit an idle link saves up
// (and absorbs a sender that wakes up a little late).
//
// A rate of 0 means no cap: Delay() is always zero and charges are ignored.
// A rate change keeps what was earned at the old rate until then, and the
// debt of what was already sent.
#pragma once

#include <chrono>
#include <cstdint>

namespace rvg {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  // Credit an idle link saves up: this long at the current rate.
  static constexpr std::chrono::milliseconds kBurst{100};

  explicit TokenBucket(uint64_t rate = 0, Clock::time_point now = Clock::time_point{});

  uint64_t rate() const { return rate_; }
  // Changes the cap (bytes/s, 0 = none) from `now` on. No-op when equal.
  void SetRate(uint64_t rate, Clock::time_point now);

  // How long from `now` until the next message may go: zero when it may go
  // at once. Not a promise for a message of any size: see the model above.
  Clock::duration Delay(Clock::time_point now);
  // `bytes` were sent at `now`.
  void Charge(uint64_t bytes, Clock::time_point now);

  // The balance in bytes (negative: debt), as of the last call; for tests.
  double balance() const { return balance_; }

 private:
  double Burst() const;
  void Refill(Clock::time_point now);

  uint64_t rate_;
  double balance_;
  Clock::time_point last_;
};

}  // namespace rvg
