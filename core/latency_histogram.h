// LatencyHistogram: a fixed-bucket histogram of durations, the shape
// Prometheus exports (cumulative `le` buckets, a sum and a count), for the
// RLINK ack latencies in `status --json` and the metrics endpoint.
//
// The buckets are fixed, the same for every histogram: 100 µs to 10 s in
// 1-2.5-5 steps (16 bounds), plus the +Inf overflow. Fixed so that
// histograms of different RLINKs, hosts and rvgd versions aggregate in
// histogram_quantile(), and so that recording needs no allocation.
//
// Threads: one writer (the RLINK's sender thread calls Record), any number
// of readers (Take, for status). Record is two relaxed atomic adds, no
// lock, no allocation: it sits on the ack path of every write. A snapshot
// taken while Record runs may see the bucket count and not yet the sum (or
// the other way round) — a transient skew of one sample, which Prometheus
// tolerates; the count is derived from the buckets, so the +Inf bucket
// always equals the count and buckets are always cumulative.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace rvg {

class LatencyHistogram {
 public:
  // Finite bucket bounds, in nanoseconds, ascending.
  static constexpr size_t kBounds = 16;
  static constexpr std::array<int64_t, kBounds> kBoundsNs = {
      100'000,       250'000,       500'000,       1'000'000,
      2'500'000,     5'000'000,     10'000'000,    25'000'000,
      50'000'000,    100'000'000,   250'000'000,   500'000'000,
      1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
  // A bound in seconds, for `le` labels and JSON.
  static double BoundSeconds(size_t i) { return static_cast<double>(kBoundsNs[i]) / 1e9; }

  struct Snapshot {
    // cumulative[i]: samples <= BoundSeconds(i); cumulative[kBounds]: all
    // of them (le="+Inf"), which is also `count`.
    std::array<uint64_t, kBounds + 1> cumulative{};
    double sum_s = 0;
    uint64_t count = 0;
  };

  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Counts one sample; a negative duration (a clock that is not steady)
  // counts as zero. Single writer.
  void Record(std::chrono::nanoseconds latency);

  Snapshot Take() const;

 private:
  // Per bucket, not cumulative: one increment per sample.
  std::array<std::atomic<uint64_t>, kBounds + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace rvg
