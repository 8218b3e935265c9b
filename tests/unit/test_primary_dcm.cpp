// SRL overflow protection in PrimaryRvg, with real files: a 4 MiB SRL, an
// RLINK that never acknowledges, and more written than the SRL holds.
#include <catch2/catch.hpp>

#include <future>
#include <map>
#include <mutex>

#include "core/dcm_tracker.h"
#include "core/primary_rvg.h"
#include "engine_fixture.h"
#include "rlink_fixture.h"

using namespace rvg;
using namespace rvg::testing;

namespace {

constexpr uint64_t kRegion = 64 * 1024;
constexpr uint32_t kWrite = 256 * 1024;

// The bitmaps as state.db would keep them, with a count of saves.
class MemoryBitmapStore : public BitmapStore {
 public:
  Status SaveBitmapChunks(const std::string& rlink,
                          const std::vector<BitmapChunk>& chunks) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_next_) {
      fail_next_ = false;
      return Status::Error("database is locked", EBUSY);
    }
    for (const BitmapChunk& c : chunks) rows_[{rlink, c.volume, c.index}] = c.bits;
    ++saves_;
    return Status::Ok();
  }
  Result<std::vector<BitmapChunk>> LoadBitmap(const std::string& rlink) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<BitmapChunk> out;
    for (const auto& [key, bits] : rows_) {
      if (std::get<0>(key) == rlink) out.push_back({std::get<1>(key), std::get<2>(key), bits});
    }
    return out;
  }
  int saves() {
    std::lock_guard<std::mutex> lock(mu_);
    return saves_;
  }
  void FailNext() {
    std::lock_guard<std::mutex> lock(mu_);
    fail_next_ = true;
  }

 private:
  std::mutex mu_;
  std::map<std::tuple<std::string, uint32_t, uint64_t>, std::vector<uint8_t>> rows_;
  int saves_ = 0;
  bool fail_next_ = false;
};

struct DcmRig {
  explicit DcmRig(SrlProt srlprot) {
    specs = TwoVolumes(dir.path());
    REQUIRE(VolumeSet::CreateImages(specs).ok());
    REQUIRE(Srl::Create(dir.path() + "/srl", Srl::kMinSize, "uuid-1").ok());
    RlinkPolicy policy;
    policy.srlprot = srlprot;
    rlinks = OneRlink("dr", 0, 0, 0, policy);
    dcm = std::make_unique<DcmTracker>(std::vector<std::string>{"dr"}, specs, kRegion, &store);
    REQUIRE(dcm->Load().ok());
    auto volumes = VolumeSet::Open(specs);
    REQUIRE(volumes.ok());
    auto srl = Srl::Open(dir.path() + "/srl", "uuid-1");
    REQUIRE(srl.ok());
    PrimaryOptions options;
    options.checkpoint_interval = std::chrono::milliseconds(20);
    options.dcm = dcm.get();
    auto opened = PrimaryRvg::Open(std::move(*volumes), std::move(*srl), rlinks, nullptr, options);
    REQUIRE(opened.ok());
    engine = std::move(*opened);
  }
  // Writes 256 KiB at `index` * 256 KiB of volume 1 (8 MiB: 32 slots).
  Status WriteSlot(uint64_t index) {
    const auto data = Pattern(index, kWrite);
    return engine->Write(1, (index % 32) * kWrite, data.data(), data.size(), false);
  }

  TempDir dir;
  std::vector<VolumeSpec> specs;
  MemoryBitmapStore store;
  std::shared_ptr<RlinkSet> rlinks;
  std::unique_ptr<DcmTracker> dcm;
  std::unique_ptr<PrimaryRvg> engine;
};

}  // namespace

TEST_CASE("autodcm: writes past a full SRL succeed and every one is in the bitmap") {
  DcmRig rig(SrlProt::kAutoDcm);
  // 40 x 256 KiB = 10 MiB through a 4 MiB SRL that the RLINK pins.
  for (uint64_t i = 0; i < 40; ++i) REQUIRE(rig.WriteSlot(i).ok());
  CHECK(rig.rlinks->state(0) == RlinkState::kDcm);
  REQUIRE(WaitFor([&] { return rig.engine->srl_tail_seq() > 1; }));
  // Every region of the 32 slots written is owed (slots 0..31 cover 8 MiB).
  CHECK(rig.dcm->dirty_bytes(0) == 8ull << 20);
  // Writes to regions already dirty cost no further save.
  const int saves = rig.store.saves();
  for (uint64_t i = 0; i < 8; ++i) REQUIRE(rig.WriteSlot(i).ok());
  CHECK(rig.store.saves() == saves);
  // The persisted bitmap says the same as the one in memory.
  DcmTracker reloaded({"dr"}, rig.specs, kRegion, &rig.store);
  REQUIRE(reloaded.Load().ok());
  CHECK(reloaded.dirty_bytes(0) == 8ull << 20);
}

TEST_CASE("srlprot=fail: the write that overflows the SRL fails with EIO, none before") {
  DcmRig rig(SrlProt::kFail);
  uint64_t done = 0;
  Status st;
  for (; done < 40; ++done) {
    st = rig.WriteSlot(done);
    if (!st.ok()) break;
  }
  REQUIRE_FALSE(st.ok());
  CHECK(st.code() == EIO);
  CHECK(st.message().find("srlprot=fail") != std::string::npos);
  // About 4 MiB fit: the SRL, less its checkpoint blocks and headers.
  CHECK(done >= 12);
  CHECK(done <= 16);
  CHECK(rig.engine->health().ok());  // not a failure of the engine
  CHECK(rig.rlinks->state(0) == RlinkState::kDisconnected);
}

TEST_CASE("srlprot=override: the RLINK goes stale and writes go on") {
  DcmRig rig(SrlProt::kOverride);
  for (uint64_t i = 0; i < 40; ++i) REQUIRE(rig.WriteSlot(i).ok());
  CHECK(rig.rlinks->state(0) == RlinkState::kStale);
  CHECK(rig.dcm->dirty_regions(0) == 0);
  // startrep --full: every region owed, tracking again.
  REQUIRE(rig.engine->StartFullSync(0).ok());
  CHECK(rig.rlinks->state(0) == RlinkState::kDcm);
  CHECK(rig.dcm->dirty_bytes(0) == (8ull << 20) + (4ull << 20));
}

TEST_CASE("a resync begins at the newest seq, after which writes are no longer tracked") {
  DcmRig rig(SrlProt::kAutoDcm);
  for (uint64_t i = 0; i < 20; ++i) REQUIRE(rig.WriteSlot(i).ok());
  REQUIRE(rig.rlinks->state(0) == RlinkState::kDcm);
  // No session: the resync cannot begin.
  CHECK_FALSE(rig.engine->BeginResync(0).ok());
  REQUIRE(rig.rlinks->SessionUp(0, 0));
  uint64_t seq = 0;
  REQUIRE(WaitFor([&] {
    Result<uint64_t> begun = rig.engine->BeginResync(0);
    if (begun.ok()) seq = *begun;
    return begun.ok();
  }));
  CHECK(seq == rig.engine->last_seq());
  CHECK(rig.rlinks->state(0) == RlinkState::kResyncing);
  CHECK(rig.rlinks->NeededSeq(0) == seq + 1);
  // A write now travels in the SRL, not the bitmap.
  REQUIRE(rig.dcm->Clear(0, {RegionRef{2, 0}}).ok());
  const auto data = Pattern(99, 4096);
  REQUIRE(rig.engine->Write(2, 0, data.data(), data.size(), false).ok());
  CHECK_FALSE(rig.dcm->NextDirty(0, RegionRef{2, 0}).has_value());
  // The session breaks: tracking again, and what the SRL holds after the
  // resync seq is marked before the next checkpoint.
  rig.engine->InterruptResync(0);
  CHECK(rig.rlinks->state(0) == RlinkState::kDcm);
  REQUIRE(WaitFor([&] { return rig.dcm->NextDirty(0, RegionRef{2, 0}).has_value(); }));
  CHECK(rig.dcm->NextDirty(0, RegionRef{2, 0})->first == RegionRef{2, 0});
}

TEST_CASE("srlprot=dcm: connected, a full SRL stalls writes until the secondary catches up") {
  DcmRig rig(SrlProt::kDcm);
  REQUIRE(rig.rlinks->SessionUp(0, 0));
  uint64_t i = 0;
  // Fill the log until a write has to wait (it is let go below).
  std::future<Status> stalled;
  for (;; ++i) {
    stalled = std::async(std::launch::async, [&rig, i] { return rig.WriteSlot(i); });
    if (stalled.wait_for(std::chrono::milliseconds(300)) != std::future_status::ready) break;
    REQUIRE(stalled.get().ok());
    REQUIRE(i < 40);
  }
  CHECK(rig.engine->srl_full());
  CHECK(rig.rlinks->state(0) == RlinkState::kConnected);  // no DCM while connected
  // The secondary acknowledges everything: space comes back, the write goes.
  const uint64_t last = rig.engine->last_seq();
  rig.rlinks->Acked(0, last, last);
  REQUIRE(stalled.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(stalled.get().ok());
  CHECK(rig.dcm->dirty_regions(0) == 0);
}

TEST_CASE("srlprot=dcm: disconnected, a full SRL switches the RLINK to DCM") {
  DcmRig rig(SrlProt::kDcm);
  for (uint64_t i = 0; i < 40; ++i) REQUIRE(rig.WriteSlot(i).ok());
  CHECK(rig.rlinks->state(0) == RlinkState::kDcm);
  CHECK(rig.dcm->dirty_bytes(0) == 8ull << 20);
}

// A DcmTracker of one RLINK on its own, over a MemoryBitmapStore.
struct LoneDcm {
  LoneDcm() : specs(TwoVolumes(dir.path())), dcm({"dr"}, specs, kRegion, &store) {
    REQUIRE(dcm.Load().ok());
  }
  // The dirty regions a restart would find (what the store holds).
  uint64_t ReloadedDirty() {
    DcmTracker reloaded({"dr"}, specs, kRegion, &store);
    REQUIRE(reloaded.Load().ok());
    return reloaded.dirty_regions(0);
  }

  TempDir dir;
  std::vector<VolumeSpec> specs;
  MemoryBitmapStore store;
  DcmTracker dcm;
};

TEST_CASE_METHOD(LoneDcm,
                 "a DCM chunk whose save failed is saved again before the next mark returns") {
  store.FailNext();
  CHECK_FALSE(dcm.Mark(0, {1, 0, 4096}).ok());
  // The bit is set in memory; a write to the same region must still not be
  // answered before it is durable.
  REQUIRE(dcm.Mark(0, {1, 100, 10}).ok());
  CHECK(ReloadedDirty() == 1);
}

TEST_CASE_METHOD(LoneDcm,
                 "a resync's acks clear nothing once the bitmap was marked after it began") {
  REQUIRE(dcm.Mark(0, {1, 0, 2 * kRegion}).ok());
  const uint64_t generation = dcm.mark_generation(0);
  // The resync was cut short: the records after its seq are marked again,
  // one of them in a region whose (older) data is already in flight.
  REQUIRE(dcm.Mark(0, {1, 0, 512}).ok());
  Result<bool> cleared =
      dcm.ClearIfUnmarked(0, {RegionRef{1, 0}, RegionRef{1, 1}}, generation, true);
  REQUIRE(cleared.ok());
  CHECK_FALSE(*cleared);
  CHECK(dcm.dirty_regions(0) == 2);
  // Unmarked since: the acknowledged regions are cleared.
  cleared = dcm.ClearIfUnmarked(0, {RegionRef{1, 1}}, dcm.mark_generation(0), true);
  REQUIRE(cleared.ok());
  CHECK(*cleared);
  CHECK(dcm.dirty_regions(0) == 1);
}

TEST_CASE_METHOD(LoneDcm,
                 "a clear not persisted at once costs no save, and is saved by the next one") {
  REQUIRE(dcm.Mark(0, {1, 0, 4 * kRegion}).ok());
  const int saves = store.saves();

  Result<bool> cleared = dcm.ClearIfUnmarked(0, {RegionRef{1, 0}}, dcm.mark_generation(0), false);
  REQUIRE(cleared.ok());
  CHECK(*cleared);
  CHECK(dcm.dirty_regions(0) == 3);
  CHECK(store.saves() == saves);
  CHECK(ReloadedDirty() == 4);  // lost at a crash now: region 0 is sent again

  REQUIRE(dcm.PersistClears(0).ok());
  CHECK(store.saves() == saves + 1);
  CHECK(ReloadedDirty() == 3);
  REQUIRE(dcm.PersistClears(0).ok());  // nothing owed: no save
  CHECK(store.saves() == saves + 1);

  // A mark saves the clears owed with it, even one to a region already dirty.
  REQUIRE(dcm.ClearIfUnmarked(0, {RegionRef{1, 1}}, dcm.mark_generation(0), false).ok());
  REQUIRE(dcm.Mark(0, {1, 3 * kRegion, 512}).ok());
  CHECK(store.saves() == saves + 2);
  CHECK(ReloadedDirty() == 2);
}

TEST_CASE("with an RLINK in DCM a group commit larger than the SRL still completes") {
  DcmRig rig(SrlProt::kAutoDcm);
  for (uint64_t i = 0; i < 20; ++i) REQUIRE(rig.WriteSlot(i).ok());
  REQUIRE(rig.rlinks->state(0) == RlinkState::kDcm);
  // Eight writers of 1 MiB pile up into batches bigger than the 4 MiB log:
  // the part of a batch in the SRL must be marked (and so released) while
  // the rest waits for its space.
  std::vector<std::future<Status>> writers;
  for (uint32_t t = 0; t < 8; ++t) {
    writers.push_back(std::async(std::launch::async, [&rig, t] {
      const auto data = Pattern(t, 1 << 20);
      for (uint64_t i = 0; i < 4; ++i) {
        Status st = rig.engine->Write(1, ((t + i) % 8) << 20, data.data(), data.size(), false);
        if (!st.ok()) return st;
      }
      return Status::Ok();
    }));
  }
  for (auto& w : writers) {
    REQUIRE(w.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    CHECK(w.get().ok());
  }
  CHECK(rig.dcm->dirty_bytes(0) == 8ull << 20);
}

TEST_CASE("resync --full: a connected RLINK owes every region and tracks; stale and paused refuse") {
  DcmRig rig(SrlProt::kAutoDcm);
  REQUIRE(rig.rlinks->SessionUp(0, 0));
  for (uint64_t i = 0; i < 4; ++i) REQUIRE(rig.WriteSlot(i).ok());
  REQUIRE(rig.rlinks->state(0) == RlinkState::kConnected);
  // startrep --full is for stale RLINKs only; resync --full for the others.
  Status startrep = rig.engine->StartFullSync(0);
  CHECK_FALSE(startrep.ok());
  CHECK(startrep.message().find("resync --full") != std::string::npos);
  REQUIRE(rig.engine->ResyncFull(0).ok());
  CHECK(rig.rlinks->state(0) == RlinkState::kDcm);
  CHECK(rig.rlinks->Tracking(0));
  CHECK(rig.dcm->dirty_bytes(0) == (8ull << 20) + (4ull << 20));

  REQUIRE(rig.rlinks->Pause(0).ok());
  Status paused = rig.engine->ResyncFull(0);
  CHECK_FALSE(paused.ok());
  CHECK(paused.message().find("paused") != std::string::npos);
  CHECK_FALSE(rig.engine->ResyncDirty(0).ok());
  REQUIRE(rig.rlinks->Resume(0).ok());

  rig.rlinks->MarkStale(0, "test");
  Status stale = rig.engine->ResyncFull(0);
  CHECK_FALSE(stale.ok());
  CHECK(stale.message().find("startrep --full") != std::string::npos);
  CHECK_FALSE(rig.engine->ResyncDirty(0).ok());
}

TEST_CASE("resync: nothing to do with a clean bitmap, dcm with a dirty one") {
  DcmRig rig(SrlProt::kAutoDcm);
  REQUIRE(rig.rlinks->SessionUp(0, 0));
  REQUIRE(rig.WriteSlot(0).ok());
  Result<bool> clean = rig.engine->ResyncDirty(0);
  REQUIRE(clean.ok());
  CHECK_FALSE(*clean);
  CHECK(rig.rlinks->state(0) == RlinkState::kConnected);

  // Regions left dirty outside DCM: the RLINK enters DCM to resync them.
  REQUIRE(rig.dcm->Mark(0, {1, 0, kRegion}).ok());
  Result<bool> dirty = rig.engine->ResyncDirty(0);
  REQUIRE(dirty.ok());
  CHECK(*dirty);
  CHECK(rig.rlinks->state(0) == RlinkState::kDcm);
  // Already owed regions: nothing more to start, but something to wait for.
  Result<bool> again = rig.engine->ResyncDirty(0);
  REQUIRE(again.ok());
  CHECK(*again);
}
