// UndoArea on its own, over the FaultEnv: what it saves, what it restores,
// and how it treats torn appends, damage, a full disk and failed syncs.
#include <catch2/catch.hpp>

#include "core/undo_area.h"
#include "undo_fixture.h"

using namespace rvg;
using namespace rvg::testing;
using Catch::Matchers::Contains;

namespace {

constexpr uint64_t kBase = 7;  // the applied seq the images are consistent at
constexpr uint64_t kFirstRecord = 1024;  // undo_area.h: records after two header slots
constexpr uint64_t kRecordHeader = 40;

// Recovers an area of an inconsistent secondary at kBase.
Status RecoverMidResync(UndoArea& area, uint64_t applied = kBase) {
  bool consistent = false;
  return area.Recover(applied, &consistent, [] {
    FAIL("the consistent flag must not be saved");
    return Status::Ok();
  });
}

// An area of a secondary mid-resync at kBase, begun.
std::unique_ptr<UndoArea> Begun(UndoRig& rig) {
  auto area = rig.Area();
  REQUIRE(RecoverMidResync(*area).ok());
  REQUIRE(area->Begin(kBase).ok());
  return area;
}

std::function<Status()> Counting(int* calls) {
  return [calls] {
    if (calls != nullptr) ++*calls;
    return Status::Ok();
  };
}

}  // namespace

TEST_CASE("undo: each byte is saved once, and a rollback restores the images exactly") {
  UndoRig rig;
  auto area = rig.Area();
  bool consistent = true;
  REQUIRE(area->Recover(kBase, &consistent, Counting(nullptr)).ok());
  CHECK_FALSE(area->active());
  REQUIRE(area->Begin(kBase).ok());
  CHECK(area->active());
  CHECK(rig.env.Exists(rig.undo_path));

  REQUIRE(rig.SaveAndWrite(*area, {MakeRegion(1, 1, 0, 65536, 1), MakeRegion(2, 2, 65536, 65536, 2)})
              .ok());
  CHECK(area->summary()->regions == 2);
  CHECK(area->summary()->bytes == 131072);
  // A later session resends the first region and one that half overlaps
  // it: only the 32 KiB never saved are added, so the saved copy stays the
  // pre-resync one.
  REQUIRE(rig.SaveAndWrite(*area, {MakeRegion(1, 1, 0, 65536, 3), MakeRegion(2, 1, 32768, 65536, 4)})
              .ok());
  CHECK(area->summary()->regions == 3);
  CHECK(area->summary()->bytes == 131072 + 32768);
  CHECK(area->summary()->base_seq == kBase);
  CHECK(Difference(rig.Current(), rig.before) != "");

  int saved = 0;
  Result<UndoSummary> done = area->RollBack(rig.volumes.get(), Counting(&saved));
  REQUIRE(done.ok());
  CHECK(done->regions == 3);
  CHECK(done->base_seq == kBase);
  CHECK(saved == 1);
  CHECK_FALSE(area->active());
  CHECK_FALSE(rig.env.Exists(rig.undo_path));
  // Durable: nothing unsynced survives this cut.
  rig.env.PowerCut(1, 0.0);
  CHECK(Difference(rig.Current(), rig.before) == "");
  CHECK_FALSE(rig.env.Exists(rig.undo_path));
}

TEST_CASE("undo: a new area (the next start) rebuilds the saved extents from the file") {
  UndoRig rig;
  {
    auto area = Begun(rig);
    REQUIRE(rig.SaveAndWrite(*area, {MakeRegion(1, 1, 65536, 65536, 1)}).ok());
  }
  rig.env.PowerCut(2, 0.0);
  rig.Reopen();
  auto area = rig.Area();
  REQUIRE(RecoverMidResync(*area).ok());
  REQUIRE(area->active());
  CHECK(area->summary()->regions == 1);
  // Begin keeps the area of the first interrupted resync.
  REQUIRE(area->Begin(kBase + 100).ok());
  CHECK(area->summary()->base_seq == kBase);
  REQUIRE(rig.SaveAndWrite(*area, {MakeRegion(1, 1, 0, 131072, 2)}).ok());
  CHECK(area->summary()->regions == 2);  // only [0, 64 KiB) was new
  CHECK(area->summary()->bytes == 131072);
  REQUIRE(area->RollBack(rig.volumes.get(), Counting(nullptr)).ok());
  CHECK(Difference(rig.Current(), rig.before) == "");
}

TEST_CASE("undo: a power cut anywhere in an append leaves a torn tail that is ignored") {
  // Every cut point of the second batch, each with several ways the disk
  // may keep the unsynced writes.
  for (uint64_t ops = 0; ops < 12; ++ops) {
    for (uint64_t seed = 0; seed < 4; ++seed) {
      UndoRig rig;
      auto area = Begun(rig);
      REQUIRE(rig.SaveAndWrite(*area, {MakeRegion(1, 1, 0, 65536, 1)}).ok());
      rig.env.CutAfterOps(ops);
      Status st = rig.SaveAndWrite(*area, {MakeRegion(2, 1, 131072, 4096, 2),
                                           MakeRegion(3, 2, 8192, 20000, 3)});
      INFO("cut after " << ops << " ops: " << st.ToString());
      rig.env.PowerCut(seed, seed / 3.0);
      area.reset();
      rig.Reopen();
      area = rig.Area();
      REQUIRE(RecoverMidResync(*area).ok());
      const uint64_t regions = area->summary()->regions;
      CHECK((regions == 1 || regions == 3));  // the batch commits whole or not at all
      Result<UndoSummary> done = area->RollBack(rig.volumes.get(), Counting(nullptr));
      REQUIRE(done.ok());
      CHECK(Difference(rig.Current(), rig.before) == "");
    }
  }
}

TEST_CASE("undo: a power cut during a rollback, then the rollback again, restores the images") {
  for (uint64_t ops = 0; ops < 10; ++ops) {
    UndoRig rig;
    {
      auto area = Begun(rig);
      REQUIRE(rig.SaveAndWrite(*area, {MakeRegion(1, 1, 0, 65536, 1), MakeRegion(2, 2, 4096, 512, 2)})
                  .ok());
    }
    bool flag_consistent = false;
    auto save_flag = [&flag_consistent] {
      flag_consistent = true;
      return Status::Ok();
    };
    auto area = rig.Area();
    REQUIRE(RecoverMidResync(*area).ok());
    rig.env.CutAfterOps(ops);
    Result<UndoSummary> first = area->RollBack(rig.volumes.get(), save_flag);
    INFO("cut after " << ops << " ops: " << first.status().ToString());
    rig.env.PowerCut(ops, 0.5);
    rig.Reopen();
    area = rig.Area();
    bool consistent = flag_consistent;
    REQUIRE(area->Recover(kBase, &consistent, save_flag).ok());
    if (consistent) {
      // The flag was saved: the images were restored, the file is a leftover.
      CHECK_FALSE(area->active());
    } else {
      REQUIRE(area->RollBack(rig.volumes.get(), save_flag).ok());
    }
    CHECK_FALSE(rig.env.Exists(rig.undo_path));
    CHECK(Difference(rig.Current(), rig.before) == "");
  }
}

TEST_CASE("undo: a damaged record in the middle: the rollback refuses and writes nothing") {
  UndoRig rig;
  {
    auto area = Begun(rig);
    REQUIRE(rig.SaveAndWrite(*area, {MakeRegion(1, 1, 0, 4096, 1)}).ok());
    REQUIRE(rig.SaveAndWrite(*area, {MakeRegion(2, 1, 65536, 8192, 2)}).ok());
    REQUIRE(rig.SaveAndWrite(*area, {MakeRegion(3, 2, 0, 4096, 3)}).ok());
  }
  const Images after_resync = rig.Current();
  const uint64_t second = kFirstRecord + kRecordHeader + 4096;

  SECTION("in its data") {
    rig.env.Corrupt(rig.undo_path, second + kRecordHeader + 100, 0x10);
    auto area = rig.Area();
    REQUIRE(RecoverMidResync(*area).ok());  // headers are fine
    Result<UndoSummary> done = area->RollBack(rig.volumes.get(), Counting(nullptr));
    REQUIRE_FALSE(done.ok());
    CHECK_THAT(done.status().message(),
               Contains("damaged") && Contains("record 1") && Contains("data checksum") &&
                   Contains("cannot restore"));
    CHECK(area->active());  // the file stays: it is evidence, and still the only copy
  }
  SECTION("in its header: even the start refuses it") {
    rig.env.Corrupt(rig.undo_path, second + 9, 0x01);
    auto area = rig.Area();
    Status st = RecoverMidResync(*area);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.message(), Contains("damaged") && Contains("record 1") &&
                                 Contains("remove " + rig.undo_path));
  }
  CHECK(Difference(rig.Current(), after_resync) == "");
  CHECK(rig.env.Exists(rig.undo_path));
}

TEST_CASE("undo: a full disk fails the save cleanly, and the area stays failed") {
  UndoRig rig;
  auto area = Begun(rig);
  rig.env.InjectError({FaultOp::kWriteAt, "r.undo", ENOSPC, 0, true});
  const std::vector<WriteRecord> regions{MakeRegion(1, 1, 0, 65536, 1)};
  Status st = area->Save(regions.data(), regions.size(), *rig.volumes);
  REQUIRE_FALSE(st.ok());
  CHECK(st.code() == ENOSPC);
  CHECK_THAT(st.message(), Contains("no region was written") && Contains("free space in /rvg/home"));
  rig.env.ClearFaults();
  // Sticky: space may be back, but the area does not pretend nothing happened.
  CHECK(area->Save(regions.data(), regions.size(), *rig.volumes).code() == ENOSPC);
  CHECK(area->Discard().code() == ENOSPC);
}

TEST_CASE("undo: a failed fdatasync is never retried; the next start ignores what it covered") {
  UndoRig rig;
  auto area = Begun(rig);
  REQUIRE(rig.SaveAndWrite(*area, {MakeRegion(1, 1, 0, 4096, 1)}).ok());
  rig.env.InjectError({FaultOp::kSync, "r.undo", EIO, 0, false});  // fails once
  const std::vector<WriteRecord> regions{MakeRegion(2, 1, 65536, 4096, 2)};
  REQUIRE_FALSE(area->Save(regions.data(), regions.size(), *rig.volumes).ok());
  Status again = area->Save(regions.data(), regions.size(), *rig.volumes);
  CHECK(again.code() == EIO);
  area.reset();
  rig.Reopen();
  area = rig.Area();
  REQUIRE(RecoverMidResync(*area).ok());
  CHECK(area->summary()->regions == 1);
  REQUIRE(area->RollBack(rig.volumes.get(), Counting(nullptr)).ok());
  CHECK(Difference(rig.Current(), rig.before) == "");
}

TEST_CASE("undo: what a start makes of a file, against the flag and the applied seq") {
  UndoRig rig;
  auto make_area = [&rig] {
    auto area = Begun(rig);
    REQUIRE(rig.SaveAndWrite(*area, {MakeRegion(1, 1, 0, 4096, 1)}).ok());
  };
  int saved = 0;
  SECTION("none: nothing to do") {
    auto area = rig.Area();
    bool consistent = false;
    REQUIRE(area->Recover(kBase, &consistent, Counting(&saved)).ok());
    CHECK_FALSE(area->active());
    CHECK_FALSE(consistent);
  }
  SECTION("consistent: a leftover, removed") {
    make_area();
    auto area = rig.Area();
    bool consistent = true;
    REQUIRE(area->Recover(kBase, &consistent, Counting(&saved)).ok());
    CHECK_FALSE(area->active());
    CHECK_FALSE(rig.env.Exists(rig.undo_path));
  }
  SECTION("inconsistent, but the applied seq moved past the base: the resync ended") {
    make_area();
    auto area = rig.Area();
    bool consistent = false;
    REQUIRE(area->Recover(kBase + 5, &consistent, Counting(&saved)).ok());
    CHECK(consistent);
    CHECK(saved == 1);
    CHECK_FALSE(area->active());
    CHECK_FALSE(rig.env.Exists(rig.undo_path));
  }
  SECTION("inconsistent, the applied seq moved below the base: a failback's resync ended") {
    // FinishResync(back) moves the SRL back to the new primary's line only
    // after every region is on the synced images.
    make_area();
    auto area = rig.Area();
    bool consistent = false;
    REQUIRE(area->Recover(kBase - 1, &consistent, Counting(&saved)).ok());
    CHECK(consistent);
    CHECK(saved == 1);
    CHECK_FALSE(area->active());
    CHECK_FALSE(rig.env.Exists(rig.undo_path));
  }
  SECTION("another RVG's file under this name is not taken for this one's") {
    make_area();
    UndoArea other(rig.undo_path, "another-owner", &rig.env);
    bool consistent = false;
    CHECK_FALSE(other.Recover(kBase, &consistent, Counting(&saved)).ok());
    CHECK_FALSE(UndoArea::Peek(rig.undo_path, "another-owner", &rig.env)->has_value());
    CHECK(UndoArea::Peek(rig.undo_path, rig.owner, &rig.env).value()->regions == 1);
  }
  SECTION("a secondary at seq 0 holds nothing to go back to: no area") {
    auto area = rig.Area();
    bool consistent = true;
    REQUIRE(area->Recover(0, &consistent, Counting(&saved)).ok());
    REQUIRE(area->Begin(0).ok());
    CHECK_FALSE(area->active());
    CHECK_FALSE(rig.env.Exists(rig.undo_path));
    Result<UndoSummary> done = area->RollBack(rig.volumes.get(), Counting(&saved));
    CHECK(done.status().code() == ENOENT);
  }
}
