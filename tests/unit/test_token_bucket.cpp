// TokenBucket, on a fake clock: the rate a sender gets is the limit, over
// any stretch of time, whatever the message sizes; a live change of the
// limit applies from that moment; no limit never holds anything back.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>

#include "core/token_bucket.h"
#include "fake_clock.h"

namespace rvg {
namespace {

using Clock = TokenBucket::Clock;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::kMiB;

const Clock::time_point kStart = testing::kFakeStart;

// A sender as RlinkSender is: it asks for the delay, sleeps exactly that
// long (plus `lateness`, a poll that wakes up late), sends one message of
// `message` bytes and pays for it. Returns the bytes sent in [from, to).
uint64_t SendFor(TokenBucket& bucket, Clock::time_point from, Clock::time_point to,
                 uint64_t message, Clock::duration lateness = Clock::duration::zero()) {
  uint64_t sent = 0;
  Clock::time_point now = from;
  while (now < to) {
    const Clock::duration wait = bucket.Delay(now);
    if (wait > Clock::duration::zero()) {
      now += wait + lateness;
      continue;
    }
    bucket.Charge(message, now);
    sent += message;
  }
  return sent;
}

double MiBPerSecond(uint64_t bytes, Clock::duration over) {
  return static_cast<double>(bytes) / kMiB / std::chrono::duration<double>(over).count();
}

TEST_CASE("no limit: nothing waits and charges are ignored") {
  TokenBucket bucket(0, kStart);
  bucket.Charge(1ull << 40, kStart);
  CHECK(bucket.Delay(kStart) == Clock::duration::zero());
  CHECK(bucket.Delay(kStart + milliseconds(1)) == Clock::duration::zero());
}

TEST_CASE("a message larger than the burst goes, and the next waits until it is paid") {
  TokenBucket bucket(64 * 1024, kStart);  // 64 KiB/s, burst 6.4 KiB
  REQUIRE(bucket.Delay(kStart) == Clock::duration::zero());
  bucket.Charge(kMiB, kStart);
  // 1 MiB less the 6.4 KiB burst, at 64 KiB/s: a little under 16 s.
  const Clock::duration wait = bucket.Delay(kStart);
  CHECK(wait > seconds(15));
  CHECK(wait < seconds(16));
  CHECK(bucket.Delay(kStart + wait - milliseconds(1)) > Clock::duration::zero());
  CHECK(bucket.Delay(kStart + wait) == Clock::duration::zero());
}

TEST_CASE("over time the rate is the limit, for small and large messages") {
  const Clock::duration run = seconds(10);
  for (uint64_t message : {uint64_t{4096}, uint64_t{256 * 1024}, kMiB}) {
    TokenBucket bucket(2 * kMiB, kStart);
    const uint64_t sent = SendFor(bucket, kStart, kStart + run, message);
    INFO("message of " << message << " bytes: " << MiBPerSecond(sent, run) << " MiB/s");
    // 20 MiB, plus at most the first burst and the one message in debt.
    CHECK(sent + message >= 20 * kMiB);
    CHECK(sent <= 20 * kMiB + 2 * kMiB / 10 + message);
  }
}

TEST_CASE("a sender that wakes up late loses no rate while the lateness fits in the burst") {
  const Clock::duration run = seconds(10);
  TokenBucket bucket(2 * kMiB, kStart);
  const uint64_t sent = SendFor(bucket, kStart, kStart + run, 64 * 1024, milliseconds(5));
  INFO(MiBPerSecond(sent, run) << " MiB/s");
  CHECK(MiBPerSecond(sent, run) > 1.98);
  CHECK(MiBPerSecond(sent, run) < 2.1);
}

TEST_CASE("an idle link saves up one burst, not more") {
  TokenBucket bucket(kMiB, kStart);
  bucket.Charge(kMiB, kStart);
  // An hour of silence pays the debt and earns 100 ms worth of credit.
  const Clock::time_point later = kStart + std::chrono::hours(1);
  CHECK(bucket.Delay(later) == Clock::duration::zero());
  CHECK(bucket.balance() == Approx(kMiB / 10.0));
  // So after a burst's worth, a 4 KiB message is in debt again.
  bucket.Charge(kMiB / 10 + 4096, later);
  CHECK(bucket.Delay(later) > Clock::duration::zero());
}

TEST_CASE("a live change of the limit applies from that moment") {
  TokenBucket bucket(kMiB, kStart);
  const Clock::time_point t1 = kStart + seconds(5);
  const uint64_t first = SendFor(bucket, kStart, t1, 64 * 1024);
  CHECK(MiBPerSecond(first, seconds(5)) == Approx(1.0).epsilon(0.05));

  SECTION("raised: the new rate from then on") {
    bucket.SetRate(4 * kMiB, t1);
    const uint64_t second = SendFor(bucket, t1, t1 + seconds(5), 64 * 1024);
    CHECK(MiBPerSecond(second, seconds(5)) == Approx(4.0).epsilon(0.05));
  }
  SECTION("lowered: the new rate from then on") {
    bucket.SetRate(256 * 1024, t1);
    const uint64_t second = SendFor(bucket, t1, t1 + seconds(8), 64 * 1024);
    CHECK(MiBPerSecond(second, seconds(8)) == Approx(0.25).epsilon(0.05));
  }
  SECTION("none: no wait at all, even with a debt") {
    bucket.Charge(16 * kMiB, t1);
    bucket.SetRate(0, t1);
    CHECK(bucket.Delay(t1) == Clock::duration::zero());
    // And limited again later: no stale debt from before.
    const Clock::time_point t2 = t1 + seconds(1);
    bucket.SetRate(kMiB, t2);
    CHECK(bucket.Delay(t2) == Clock::duration::zero());
  }
}

TEST_CASE("a clock that goes back earns nothing") {
  TokenBucket bucket(kMiB, kStart);
  bucket.Charge(kMiB, kStart);
  const Clock::duration wait = bucket.Delay(kStart);
  CHECK(bucket.Delay(kStart - seconds(10)) > Clock::duration::zero());
  CHECK(bucket.Delay(kStart + wait) == Clock::duration::zero());
}

}  // namespace
}  // namespace rvg
