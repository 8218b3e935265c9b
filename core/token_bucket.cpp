#include "core/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace rvg {

TokenBucket::TokenBucket(uint64_t rate, Clock::time_point now)
    : rate_(rate), balance_(0), last_(now) {
  // A new link may send its first burst at once.
  balance_ = Burst();
}

double TokenBucket::Burst() const {
  return static_cast<double>(rate_) * std::chrono::duration<double>(kBurst).count();
}

void TokenBucket::Refill(Clock::time_point now) {
  // A clock that seems to go back (a caller's stale `now`) earns nothing.
  if (now > last_) {
    const double seconds = std::chrono::duration<double>(now - last_).count();
    balance_ = std::min(Burst(), balance_ + seconds * static_cast<double>(rate_));
    last_ = now;
  }
}

void TokenBucket::SetRate(uint64_t rate, Clock::time_point now) {
  if (rate == rate_) return;
  Refill(now);  // earned at the old rate until now
  rate_ = rate;
  last_ = std::max(last_, now);
  if (rate_ == 0) {
    balance_ = 0;  // no cap: nothing to owe or save
  } else {
    balance_ = std::min(balance_, Burst());
  }
}

TokenBucket::Clock::duration TokenBucket::Delay(Clock::time_point now) {
  if (rate_ == 0) return Clock::duration::zero();
  Refill(now);
  if (balance_ >= 0) return Clock::duration::zero();
  // Rounded up, so that waiting exactly this long always suffices.
  const double seconds = -balance_ / static_cast<double>(rate_);
  const auto wait = std::chrono::duration<double>(seconds);
  return std::chrono::ceil<Clock::duration>(wait) + Clock::duration(1);
}

void TokenBucket::Charge(uint64_t bytes, Clock::time_point now) {
  if (rate_ == 0) return;
  Refill(now);
  balance_ -= static_cast<double>(bytes);
}

}  // namespace rvg
