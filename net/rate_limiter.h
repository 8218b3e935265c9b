// RateLimiter: at most `burst` events per window, counting what it turned
// away. Keeps a flood of bad input from flooding the log, and a flood of
// HELLOs or bad messages from costing more than a bounded amount of work
// and reply traffic (a secondary never answers a peer faster than this).
#pragma once

#include <chrono>
#include <cstdint>

namespace rvg {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(int burst, std::chrono::milliseconds window) : burst_(burst), window_(window) {}

  // True when this event may go ahead. `suppressed` (optional) receives
  // how many events were turned away since the last one allowed.
  bool Allow(Clock::time_point now, uint64_t* suppressed = nullptr) {
    if (now - window_start_ >= window_) {
      window_start_ = now;
      used_ = 0;
    }
    if (used_ < burst_) {
      ++used_;
      if (suppressed != nullptr) *suppressed = suppressed_;
      suppressed_ = 0;
      return true;
    }
    ++suppressed_;
    return false;
  }
  bool Allow(uint64_t* suppressed = nullptr) { return Allow(Clock::now(), suppressed); }

 private:
  const int burst_;
  const std::chrono::milliseconds window_;
  Clock::time_point window_start_{};
  int used_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace rvg
