// What the unit tests of the pure, clock-free classes (TokenBucket,
// RateMeter: every call is given `now`) share: a start time an hour past
// the steady clock's epoch, so that times before it are valid too, and
// byte units.
#pragma once

#include <chrono>
#include <cstdint>

namespace rvg::testing {

using FakeClock = std::chrono::steady_clock;
const FakeClock::time_point kFakeStart = FakeClock::time_point{} + std::chrono::hours(1);
constexpr uint64_t kMiB = 1 << 20;

}  // namespace rvg::testing
