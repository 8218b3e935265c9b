// RateMeter, on a fake clock: the rate of a steady transfer is its rate;
// it follows a change within one window; a stall makes it fall to zero
// (and the ETA unknown) instead of showing the last good figure; it is
// unknown until a second of samples exists; memory stays bounded however
// often the count is recorded.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>

#include "core/rate_meter.h"
#include "fake_clock.h"

namespace rvg {
namespace {

using namespace std::chrono_literals;
using namespace rvg::testing;  // kMiB, and kStart below
using Clock = RateMeter::Clock;
const Clock::time_point kStart = kFakeStart;

// Records a transfer of `rate` bytes/s from `from` for `length`, one
// sample every `step`; returns the count at the end.
uint64_t Run(RateMeter& meter, Clock::time_point from, Clock::duration length, uint64_t start,
             uint64_t rate, Clock::duration step = 200ms) {
  uint64_t total = start;
  for (Clock::duration t{0}; t <= length; t += step) {
    total = start + static_cast<uint64_t>(rate * std::chrono::duration<double>(t).count());
    meter.Record(total, from + t);
  }
  return total;
}

TEST_CASE("a steady transfer shows its rate") {
  RateMeter meter;
  Run(meter, kStart, 30s, 0, 100 * kMiB);
  std::optional<double> rate = meter.Rate(kStart + 30s);
  REQUIRE(rate);
  CHECK(*rate == Approx(100.0 * kMiB).epsilon(0.01));
}

TEST_CASE("the rate is unknown before a second of samples") {
  RateMeter meter;
  CHECK_FALSE(meter.Rate(kStart));
  meter.Record(0, kStart);
  meter.Record(10 * kMiB, kStart + 500ms);
  CHECK_FALSE(meter.Rate(kStart + 500ms));
  CHECK_FALSE(RateMeter::Eta(kMiB, meter.Rate(kStart + 500ms)));
  meter.Record(20 * kMiB, kStart + 1s);
  std::optional<double> rate = meter.Rate(kStart + 1s);
  REQUIRE(rate);
  CHECK(*rate == Approx(20.0 * kMiB));
}

TEST_CASE("the rate follows a change within one window") {
  RateMeter meter(10s);
  uint64_t total = Run(meter, kStart, 20s, 0, 100 * kMiB);
  // The link slows to a tenth: after a whole window only the new rate counts.
  Run(meter, kStart + 20s, 10s, total, 10 * kMiB);
  std::optional<double> rate = meter.Rate(kStart + 30s);
  REQUIRE(rate);
  CHECK(*rate == Approx(10.0 * kMiB).epsilon(0.02));
}

TEST_CASE("a stalled transfer shows its rate falling, then zero and no ETA") {
  RateMeter meter(10s);
  uint64_t total = Run(meter, kStart, 10s, 0, 50 * kMiB);
  // Nothing moves for 5 s: half the window still holds the old progress.
  std::optional<double> half = meter.Rate(kStart + 15s);
  REQUIRE(half);
  CHECK(*half == Approx(25.0 * kMiB).epsilon(0.05));
  meter.Record(total, kStart + 25s);
  std::optional<double> stalled = meter.Rate(kStart + 25s);
  REQUIRE(stalled);
  CHECK(*stalled == 0.0);
  CHECK_FALSE(RateMeter::Eta(kMiB, stalled));
}

TEST_CASE("the ETA is what remains over the rate") {
  CHECK(*RateMeter::Eta(100 * kMiB, 10.0 * kMiB) == Approx(10.0));
  CHECK(*RateMeter::Eta(0, std::nullopt) == 0.0);
  CHECK_FALSE(RateMeter::Eta(1, std::nullopt));
}

TEST_CASE("memory stays bounded when the count is recorded very often") {
  RateMeter meter(10s);
  Run(meter, kStart, 60s, 0, kMiB, 1ms);
  CHECK(meter.samples() <= RateMeter::kSlots + 3);
  std::optional<double> rate = meter.Rate(kStart + 60s);
  REQUIRE(rate);
  CHECK(*rate == Approx(1.0 * kMiB).epsilon(0.01));
}

TEST_CASE("a count that goes back starts the meter over") {
  RateMeter meter;
  Run(meter, kStart, 5s, 0, 100 * kMiB);
  meter.Record(0, kStart + 6s);  // a new resync began
  CHECK_FALSE(meter.Rate(kStart + 6s));
  meter.Record(kMiB, kStart + 8s);
  std::optional<double> rate = meter.Rate(kStart + 8s);
  REQUIRE(rate);
  CHECK(*rate == Approx(0.5 * kMiB));
}

}  // namespace
}  // namespace rvg
