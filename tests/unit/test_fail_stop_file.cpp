// FailStopFile over the FaultEnv: after one failed fdatasync, which drops
// the unsynced pages, no later sync of the file may report success — not
// a retry by the same caller, not another thread's, and not the image
// syncs of a VolumeSet, which would otherwise let a checkpoint advance
// over image writes that are gone.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "core/fail_stop_file.h"
#include "core/volume_set.h"
#include "engine_fixture.h"
#include "fault_env.h"

using namespace rvg;
using namespace rvg::testing;

TEST_CASE("a FailStopFile reports its first failed sync to every later sync") {
  FaultEnv env;
  auto created = env.Create("/d/srl");
  REQUIRE(created.ok());
  REQUIRE((*created)->SetSize(4096).ok());
  REQUIRE((*created)->Sync().ok());
  FailStopFile file(std::move(*created));
  auto a = Pattern(3, 512);
  REQUIRE(file.WriteAt(0, a.data(), a.size()).ok());
  // Strikes once: the bare file's next sync would succeed over the loss.
  env.InjectError(Fault{FaultOp::kSync, "srl", ENOSPC, 0, false});
  CHECK(file.Sync().code() == ENOSPC);
  CHECK(file.Sync().code() == ENOSPC);
  REQUIRE(file.WriteAt(0, a.data(), a.size()).ok());
  CHECK(file.Sync().code() == ENOSPC);

  // Concurrent syncs after the failure: none of them succeeds.
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 100; ++j) {
        if (file.Sync().ok()) ++succeeded;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(succeeded.load() == 0);
}

TEST_CASE("an image whose sync failed once is never reported synced again") {
  FaultEnv env;
  const std::vector<VolumeSpec> specs{VolumeSpec{1, "alpha", "/d/alpha.img", 1 << 20}};
  REQUIRE(VolumeSet::CreateImages(specs, &env).ok());
  auto volumes = VolumeSet::Open(specs, &env);
  REQUIRE(volumes.ok());
  auto a = Pattern(5, 4096);
  REQUIRE((*volumes)->Write(1, 8192, a.data(), a.size()).ok());
  env.InjectError(Fault{FaultOp::kSync, "alpha.img", EIO, 0, false});
  CHECK((*volumes)->SyncAll().code() == EIO);
  // The write is gone from the disk; a second SyncAll that said OK would
  // let a checkpoint drop the SRL records that still hold it.
  CHECK((*volumes)->SyncAll().code() == EIO);
  REQUIRE((*volumes)->Write(1, 0, a.data(), a.size()).ok());
  CHECK((*volumes)->SyncAll().code() == EIO);
}
