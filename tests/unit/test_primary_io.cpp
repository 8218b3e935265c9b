// PrimaryRvg's system calls, counted through a CountingEnv over a FaultEnv:
// synced records that are adjacent on a volume reach it in one pwritev, and
// a checkpoint with nothing new does no I/O and no SQLite commit.
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

TEST_CASE("an idle primary's checkpoints sync nothing and persist nothing") {
  CountedPrimary p;
  auto rlinks = OneRlink("sec");
  auto engine = p.Open(rlinks);
  const auto data = Pattern(2, 8192);
  REQUIRE(engine->Write(2, 0, data.data(), data.size(), false).ok());
  REQUIRE(engine->Flush().ok());
  // The secondary acks, then everything settles over a few checkpoints.
  rlinks->progress(0).sent_seq = 1;
  rlinks->Acked(0, 1, 1);
  REQUIRE(WaitFor([&] { return engine->srl_tail_seq() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const size_t image_syncs = p.env.Syncs(".img");
  const size_t srl_syncs = p.env.Syncs("srl");
  const size_t srl_writes = p.env.Writes("srl");
  const int persists = p.listener.calls.load();
  CHECK(image_syncs >= 2);  // both images once after the open; beta after the write
  CHECK(persists >= 1);

  // 40 checkpoint intervals with nothing new.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(p.env.Syncs(".img") == image_syncs);
  CHECK(p.env.Syncs("srl") == srl_syncs);
  CHECK(p.env.Writes("srl") == srl_writes);
  CHECK(p.listener.calls.load() == persists);

  // Something new is checkpointed as before.
  REQUIRE(engine->Write(1, 0, data.data(), data.size(), false).ok());
  REQUIRE(engine->Flush().ok());
  REQUIRE(WaitFor([&] { return p.env.Syncs("alpha") > 1; }));
  REQUIRE(engine->Close().ok());
}
