// LatencyHistogram and AckTimer, on a fake clock: a sample on a bucket's
// bound counts in that bucket ("le"), one a nanosecond past it in the
// next; past the last bound only in +Inf; buckets are cumulative and +Inf
// is the count; the sum is exact. AckTimer times every seq an ack newly
// covers once per kind, from its last send, skips what a Resume covers
// and what the ring no longer holds.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "core/ack_timer.h"
#include "core/latency_histogram.h"
#include "core/link_counters.h"
#include "fake_clock.h"

namespace rvg {
namespace {

using namespace std::chrono_literals;
using rvg::testing::kFakeStart;
using H = LatencyHistogram;

// The non-cumulative count of bucket i in a snapshot.
uint64_t InBucket(const H::Snapshot& s, size_t i) {
  return s.cumulative[i] - (i == 0 ? 0 : s.cumulative[i - 1]);
}

TEST_CASE("histogram bounds run from 100us to 10s, ascending") {
  CHECK(H::BoundSeconds(0) == Approx(0.0001));
  CHECK(H::BoundSeconds(H::kBounds - 1) == Approx(10.0));
  for (size_t i = 1; i < H::kBounds; ++i) CHECK(H::kBoundsNs[i] > H::kBoundsNs[i - 1]);
}

TEST_CASE("a sample on a bound counts in that bucket, one past it in the next") {
  H h;
  h.Record(std::chrono::nanoseconds(H::kBoundsNs[3]));      // exactly 1 ms
  h.Record(std::chrono::nanoseconds(H::kBoundsNs[3] + 1));  // just over
  h.Record(0ns);
  h.Record(-5ns);  // a clock gone back counts as zero
  const H::Snapshot s = h.Take();
  CHECK(InBucket(s, 0) == 2);
  CHECK(InBucket(s, 3) == 1);
  CHECK(InBucket(s, 4) == 1);
  CHECK(s.count == 4);
  CHECK(s.sum_s == Approx((2.0 * H::kBoundsNs[3] + 1) / 1e9));
}

TEST_CASE("samples past the last bound count only in +Inf") {
  H h;
  h.Record(11s);
  h.Record(std::chrono::nanoseconds(H::kBoundsNs[H::kBounds - 1]));  // 10 s: the last bucket
  const H::Snapshot s = h.Take();
  CHECK(s.cumulative[H::kBounds - 2] == 0);
  CHECK(s.cumulative[H::kBounds - 1] == 1);
  CHECK(s.cumulative[H::kBounds] == 2);
  CHECK(s.count == 2);
  CHECK(s.sum_s == Approx(21.0));
}

TEST_CASE("buckets are cumulative and +Inf equals the count") {
  H h;
  uint64_t n = 0;
  double sum = 0;
  for (int64_t us = 1; us < 20'000'000; us = us * 3 + 7) {
    h.Record(std::chrono::microseconds(us));
    ++n;
    sum += static_cast<double>(us) / 1e6;
  }
  const H::Snapshot s = h.Take();
  for (size_t i = 1; i <= H::kBounds; ++i) CHECK(s.cumulative[i] >= s.cumulative[i - 1]);
  CHECK(s.cumulative[H::kBounds] == n);
  CHECK(s.count == n);
  CHECK(s.sum_s == Approx(sum));
  CHECK(H().Take().count == 0);
}

TEST_CASE("AckTimer times every newly acked seq once per kind, from its send") {
  AckTimer t(1024);
  const auto t0 = kFakeStart;
  for (uint64_t seq = 1; seq <= 10; ++seq) t.Sent(seq, t0 + std::chrono::milliseconds(seq));
  // Seqs 1..4 in memory at 20 ms, none durable yet.
  t.Acked(4, 0, t0 + 20ms);
  H::Snapshot net = t.net_ack().Take();
  CHECK(net.count == 4);
  CHECK(net.sum_s == Approx((19 + 18 + 17 + 16) / 1e3));
  CHECK(t.data_ack().Take().count == 0);
  // A repeated or older ack counts nothing again.
  t.Acked(4, 0, t0 + 30ms);
  t.Acked(2, 0, t0 + 30ms);
  CHECK(t.net_ack().Take().count == 4);
  // A data ack past the net ack covers the net ack too.
  t.Acked(4, 6, t0 + 40ms);
  net = t.net_ack().Take();
  const H::Snapshot data = t.data_ack().Take();
  CHECK(net.count == 6);
  CHECK(data.count == 6);
  CHECK(data.sum_s == Approx((39 + 38 + 37 + 36 + 35 + 34) / 1e3));
}

TEST_CASE("AckTimer: a resend times from the last send; Resume skips seqs") {
  AckTimer t(1024);
  const auto t0 = kFakeStart;
  t.Sent(1, t0);
  t.Sent(1, t0 + 90ms);  // NACKed and sent again
  t.Acked(1, 1, t0 + 100ms);
  CHECK(t.net_ack().Take().sum_s == Approx(0.010));
  // A new session: the secondary already held up to 5; 2..5 are not timed.
  for (uint64_t seq = 2; seq <= 7; ++seq) t.Sent(seq, t0);
  t.Resume(5);
  t.Acked(7, 7, t0 + 1s);
  CHECK(t.net_ack().Take().count == 3);   // 1, 6, 7
  CHECK(t.data_ack().Take().count == 3);
}

TEST_CASE("AckTimer: a seq whose slot a later write took is not timed") {
  AckTimer t(1000);  // rounds up to 1024 slots
  const auto t0 = kFakeStart;
  for (uint64_t seq = 1; seq <= 1025; ++seq) t.Sent(seq, t0);  // 1025 takes seq 1's slot
  t.Acked(1025, 0, t0 + 1ms);
  CHECK(t.net_ack().Take().count == 1024);
  // A first ack far beyond the ring walks only the ring.
  AckTimer far(1024);
  far.Sent(5'000'000, t0);
  far.Acked(5'000'000, 5'000'000, t0 + 2ms);
  CHECK(far.net_ack().Take().count == 1);
  CHECK(far.data_ack().Take().sum_s == Approx(0.002));
}

TEST_CASE("link counters count by reason and total them") {
  RejectCounters c;
  c.Count(RejectReason::kMalformed);
  c.Count(RejectReason::kMalformed);
  c.Count(RejectReason::kSession);
  CHECK(c.Get(RejectReason::kMalformed) == 2);
  CHECK(c.Total() == 3);
  const auto named = c.Named(RejectReasonName);
  REQUIRE(named.size() == static_cast<size_t>(RejectReason::kCount));
  CHECK(std::string(named[0].first) == "malformed");
  CHECK(named[0].second == 2);
  CHECK(std::string(LinkErrorName(LinkError::kSendBlocked)) == "send_blocked");
}

}  // namespace
}  // namespace rvg
