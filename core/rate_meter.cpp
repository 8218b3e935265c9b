#include "core/rate_meter.h"

namespace rvg {

RateMeter::RateMeter(Clock::duration window) : window_(window) {}

void RateMeter::Reset() { samples_.clear(); }

void RateMeter::Record(uint64_t total, Clock::time_point now) {
  if (!samples_.empty() && (total < samples_.back().total || now < samples_.back().at)) {
    Reset();
  }
  // The oldest sample is the rate's base: never moved, only dropped by Trim.
  if (samples_.size() >= 2 && now - samples_[samples_.size() - 2].at < window_ / kSlots) {
    samples_.back() = {now, total};
  } else {
    samples_.push_back({now, total});
  }
  Trim(now);
}

// Drops samples older than the window, but keeps the newest of those: it
// is where the window starts.
void RateMeter::Trim(Clock::time_point now) {
  while (samples_.size() >= 2 && samples_[1].at <= now - window_) samples_.pop_front();
}

std::optional<double> RateMeter::Rate(Clock::time_point now) const {
  if (samples_.empty()) return std::nullopt;
  // The base: the oldest sample not before the window's start, or the one
  // just before it (Trim keeps exactly one such).
  const Sample* base = &samples_.front();
  for (const Sample& s : samples_) {
    if (s.at > now - window_) break;
    base = &s;
  }
  const Clock::duration span = now - base->at;
  if (span < kMinSpan) return std::nullopt;
  const double seconds = std::chrono::duration<double>(span).count();
  return static_cast<double>(samples_.back().total - base->total) / seconds;
}

std::optional<double> RateMeter::Eta(uint64_t remaining, std::optional<double> rate) {
  if (remaining == 0) return 0.0;
  if (!rate || *rate <= 0) return std::nullopt;
  return static_cast<double>(remaining) / *rate;
}

}  // namespace rvg
