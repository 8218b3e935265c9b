#include "core/latency_histogram.h"

#include <algorithm>

namespace rvg {

void LatencyHistogram::Record(std::chrono::nanoseconds latency) {
  const int64_t ns = std::max<int64_t>(0, latency.count());
  // The first bound >= ns: Prometheus buckets are "less than or equal".
  const size_t i = static_cast<size_t>(
      std::lower_bound(kBoundsNs.begin(), kBoundsNs.end(), ns) - kBoundsNs.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::Take() const {
  Snapshot s;
  uint64_t running = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum_s = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

}  // namespace rvg
