// PrimaryRvg's system calls, counted through a CountingEnv over a FaultEnv:
// synced records that are adjacent on a volume reach it in one pwritev.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "core/primary_rvg.h"
#include "counting_env.h"
#include "durability_rig.h"
#include "engine_fixture.h"
#include "fault_env.h"
#include "rlink_fixture.h"

using namespace rvg;
using namespace rvg::testing;

namespace {

// A primary on a FaultEnv seen through a CountingEnv.
struct CountedPrimary {
  FaultEnv fault;
  CountingEnv env{&fault};
  const std::vector<VolumeSpec> specs = {{1, "alpha", "/rvg/alpha.img", 4 << 20},
                                         {2, "beta", "/rvg/beta.img", 1 << 20}};
  CountingListener listener;

  std::unique_ptr<PrimaryRvg> Open(std::shared_ptr<RlinkSet> rlinks) {
    REQUIRE(VolumeSet::CreateImages(specs, &fault).ok());
    REQUIRE(Srl::Create("/rvg/srl", 16 << 20, "uuid", &fault).ok());
    auto volumes = VolumeSet::Open(specs, &env);
    REQUIRE(volumes.ok());
    auto srl = Srl::Open("/rvg/srl", "uuid", &env);
    REQUIRE(srl.ok());
    PrimaryOptions options;
    options.checkpoint_interval = std::chrono::milliseconds(5);
    auto engine = PrimaryRvg::Open(std::move(*volumes), std::move(*srl), std::move(rlinks),
                                   &listener, options);
    REQUIRE(engine.ok());
    return std::move(*engine);
  }
};

}  // namespace

TEST_CASE("synced records adjacent on a volume are applied in one pwritev") {
  CountedPrimary p;
  auto engine = p.Open(nullptr);
  // Hold the flusher in its first image write, so that the next records
  // are all synced and applied together once it goes on.
  p.fault.StallWrites("alpha");
  const auto lone = Pattern(1, 4096);
  REQUIRE(engine->Write(1, 1 << 20, lone.data(), lone.size(), false).ok());
  REQUIRE(WaitFor([&] { return p.env.Writes("alpha") == 1; }));
  std::vector<uint8_t> expect(64 << 10);
  for (uint64_t i = 0; i < 16; ++i) {
    const auto data = Pattern(10 + i, 4096);
    std::copy(data.begin(), data.end(), expect.begin() + static_cast<ptrdiff_t>(i * 4096));
    REQUIRE(engine->Write(1, i * 4096, data.data(), data.size(), false).ok());
  }
  p.fault.ResumeWrites();
  REQUIRE(engine->Flush().ok());
  REQUIRE(engine->Close().ok());
  CHECK(p.env.Of("alpha").writes == std::vector<size_t>{1, 16});
  auto set = VolumeSet::Open(p.specs, &p.fault);
  REQUIRE(set.ok());
  std::vector<uint8_t> back(expect.size());
  REQUIRE((*set)->Read(1, 0, back.data(), back.size()).ok());
  CHECK(back == expect);
}
