// LogLimiter: keeps a flood of bad input from flooding the log. Allows a
// burst of messages per window and then counts what it suppressed, so the
// log still says how much was dropped.
#pragma once

#include <chrono>
#include <cstdint>

namespace rvg {

class LogLimiter {
 public:
  LogLimiter(int burst, std::chrono::seconds window) : burst_(burst), window_(window) {}

  // True when this event may be logged. `suppressed` receives how many
  // events were swallowed since the last one that was logged.
  bool Allow(uint64_t* suppressed) {
    auto now = std::chrono::steady_clock::now();
    if (now - window_start_ >= window_) {
      window_start_ = now;
      used_ = 0;
    }
    if (used_ < burst_) {
      ++used_;
      *suppressed = suppressed_;
      suppressed_ = 0;
      return true;
    }
    ++suppressed_;
    return false;
  }

 private:
  const int burst_;
  const std::chrono::seconds window_;
  std::chrono::steady_clock::time_point window_start_{};
  int used_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace rvg
