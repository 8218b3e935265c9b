// Power cuts of a secondary during a bitmap resync that keeps an undo area,
// over the FaultEnv, with the real SecondaryApplier, SRL and images.
//
// Each history: ordered writes 1..K make the images a consistent copy at K
// (kept as `before`). Then a fixed set of dirty regions is resynced in
// rounds — sessions, each sending every region with that round's contents
// (the primary's data moves on between sessions), split differently, some
// ending the resync at R — and the power is cut at a random operation,
// recovery included; or the session is just lost. When the resync ended (the end was durable), the
// images must be `before` with the ending round's regions over it, and no
// undo area may be left. Otherwise `rvgadm rollback`'s function, itself
// cut at random and run again, must give back exactly `before`, at seq K,
// consistent, with the undo area gone.
//
// RVG_UNDO_POWER_CUTS sets the number of histories (default 300),
// RVG_UNDO_POWER_CUT_SEED the seed.
#include <catch2/catch.hpp>

#include <cstdio>
#include <set>

#include "core/secondary_applier.h"
#include "core/secondary_rollback.h"
#include "durability_rig.h"
#include "file_state_store.h"
#include "undo_fixture.h"

using namespace rvg;
using namespace rvg::testing;

namespace {

constexpr uint64_t kRegionSize = 64 << 10;
constexpr uint64_t kMaxCutOps = 60;
constexpr int kMaxRounds = 4;
constexpr auto kStopLimit = std::chrono::seconds(30);
const char* const kUndoPath = "/rvg/home/rvg.undo";

// A secondary's objects on the env; members go in reverse order.
struct Secondary {
  std::unique_ptr<VolumeSet> volumes;
  std::unique_ptr<Srl> srl;
  std::unique_ptr<FileStateStore> store;
  std::unique_ptr<UndoArea> undo;
  std::unique_ptr<SecondaryApplier> applier;
};

Status OpenFiles(DurabilityRig& rig, Secondary* sec) {
  auto volumes = VolumeSet::Open(rig.specs, &rig.env);
  if (!volumes.ok()) return volumes.status();
  auto srl = Srl::Open(rig.srl_path, rig.uuid, &rig.env);
  if (!srl.ok()) return srl.status();
  auto store = FileStateStore::Open(&rig.env);
  if (!store.ok()) return store.status();
  sec->volumes = std::move(*volumes);
  sec->srl = std::move(*srl);
  sec->store = std::move(*store);
  sec->undo = std::make_unique<UndoArea>(kUndoPath, rig.uuid, &rig.env);
  return Status::Ok();
}

Status StartSecondary(DurabilityRig& rig, Secondary* sec) {
  Status st = OpenFiles(rig, sec);
  if (!st.ok()) return st;
  SecondaryApplierOptions options;
  options.checkpoint_interval = std::chrono::milliseconds(5);
  // A round's regions in several batches (each written, synced and
  // acknowledged before the next): cuts land between batches too.
  options.resync_batch_bytes = 2 * kRegionSize;
  sec->applier = std::make_unique<SecondaryApplier>(sec->volumes.get(), sec->srl.get(),
                                                    sec->store.get(), nullptr, options,
                                                    sec->undo.get());
  return sec->applier->Start();
}

Status StopSecondary(Secondary* sec) {
  if (!sec->applier) return Status::Ok();
  return RunWithin([sec] { return sec->applier->Stop(); }, kStopLimit, "SecondaryApplier::Stop()");
}

Images Current(DurabilityRig& rig) {
  Images images;
  for (const VolumeSpec& spec : rig.specs) images.push_back(rig.env.Contents(spec.path));
  return images;
}

struct Region {
  uint32_t volume;
  uint64_t offset;
};

// A region's contents as the primary sends them in round `round`.
std::vector<uint8_t> RegionBytes(const Region& region, int round) {
  return Pattern(round * 1000003ull + region.volume * 4096 + region.offset / kRegionSize,
                 kRegionSize);
}

// The images once round `round`'s regions are written over `before`.
Images After(const Images& before, const std::vector<Region>& dirty, int round) {
  Images images = before;
  for (const Region& region : dirty) {
    std::vector<uint8_t> bytes = RegionBytes(region, round);
    std::memcpy(images[region.volume - 1].data() + region.offset, bytes.data(), kRegionSize);
  }
  return images;
}

// Round `round` of the resync: every dirty region, some split in two
// pieces; the end at `end_seq` when not 0. Returns the number of the last
// message (the end's, or the last region's).
uint64_t OfferRound(SecondaryApplier& applier, const std::vector<Region>& dirty, int round,
                    uint64_t end_seq, std::mt19937_64& rng) {
  uint64_t number = 0;
  for (const Region& region : dirty) {
    std::vector<uint8_t> bytes = RegionBytes(region, round);
    const uint64_t split = rng() % 3 == 0 ? (1 + rng() % 15) * 4096 : kRegionSize;
    for (uint64_t at = 0; at < kRegionSize; at += split) {
      const uint64_t length = std::min(split, kRegionSize - at);
      auto data = std::make_shared<DataBuffer>(length);
      std::memcpy(data->data(), bytes.data() + at, length);
      WriteRecord piece{++number, region.volume, region.offset + at, static_cast<uint32_t>(length),
                        Crc32c(data->data(), length), std::move(data)};
      REQUIRE(applier.OfferRegion(std::move(piece)));
    }
  }
  if (end_seq != 0) applier.OfferResyncEnd(end_seq, ++number);
  return number;
}

struct Tally {
  int histories = 0;
  int ended = 0;
  int rolled_back = 0;
  int cuts = 0;
  int rollback_cuts = 0;
};

// Rolls back until it works, the power cut at random meanwhile; returns
// whether there was an area to roll back (else the images were consistent
// already: nothing was overwritten, or the resync had ended).
bool RollBackWithCuts(DurabilityRig& rig, std::mt19937_64& rng, Tally* tally) {
  for (int attempt = 0;; ++attempt) {
    REQUIRE(attempt < 50);
    if (rng() % 2 == 0) rig.env.CutAfterOps(rng() % 12);
    Secondary sec;
    Status st = OpenFiles(rig, &sec);
    Result<UndoSummary> done = st;
    if (st.ok()) {
      done = RollBackStoppedSecondary(sec.volumes.get(), sec.srl.get(), sec.store.get(),
                                      sec.undo.get());
    }
    const bool frozen = rig.env.frozen();
    if (!frozen) rig.env.PowerCut(rng(), 1.0);  // disarm a cut that did not come
    if (done.ok()) return true;
    if (!frozen) {
      INFO(done.status().ToString());
      REQUIRE(done.status().code() == ENOENT);
      return false;
    }
    ++tally->rollback_cuts;
    rig.env.PowerCut(rng(), KeepProbability(rng));
  }
}

void OneHistory(uint64_t seed, Tally* tally) {
  std::mt19937_64 rng(seed);
  INFO("history seed " << seed);
  DurabilityRig rig;
  REQUIRE(rig.Create().ok());
  REQUIRE(FileStateStore::Create(&rig.env).ok());
  // The consistent copy at K.
  const uint64_t k = 1 + rng() % 20;
  {
    Secondary sec;
    REQUIRE(StartSecondary(rig, &sec).ok());
    for (uint64_t seq = 1; seq <= k; ++seq) {
      const WriteRange range = RandomRange(rng, rig.specs);
      std::vector<uint8_t> bytes = TaggedData(seq, range.length);
      auto data = std::make_shared<DataBuffer>(range.length);
      std::memcpy(data->data(), bytes.data(), range.length);
      sec.applier->Offer(WriteRecord{seq, range.volume, range.offset,
                                     static_cast<uint32_t>(range.length),
                                     Crc32c(bytes.data(), range.length), std::move(data)});
    }
    REQUIRE(WaitFor([&] { return sec.applier->applied_seq() == k; }));
    REQUIRE(StopSecondary(&sec).ok());
  }
  rig.env.PowerCut(rng(), 0.0);
  const Images before = Current(rig);
  // The dirty regions: a few of both volumes.
  std::vector<Region> dirty;
  std::set<std::pair<uint32_t, uint64_t>> chosen;
  for (int i = 1 + static_cast<int>(rng() % 6); i > 0; --i) {
    const VolumeSpec& spec = rig.specs[rng() % rig.specs.size()];
    const uint64_t offset = rng() % (spec.size / kRegionSize) * kRegionSize;
    if (chosen.insert({spec.id, offset}).second) dirty.push_back({spec.id, offset});
  }
  const uint64_t resync_seq = k + 1 + rng() % 30;
  int ending_round = 0;  // the last round that sent the end
  const int rounds = 1 + static_cast<int>(rng() % kMaxRounds);
  for (int round = 1; round <= rounds; ++round) {
    INFO("round " << round << " of " << rounds);
    const bool armed = rng() % 5 != 0;
    if (armed) rig.env.CutAfterOps(rng() % kMaxCutOps);
    Secondary sec;
    Status st = StartSecondary(rig, &sec);
    if (!st.ok()) {
      INFO(st.ToString());
      REQUIRE(rig.env.frozen());  // only the cut may stop a recovery
      (void)StopSecondary(&sec);
      rig.env.PowerCut(rng(), KeepProbability(rng));
      ++tally->cuts;
      continue;
    }
    if (sec.applier->applied_seq() > k) {
      // The resync ended in an earlier round (its end was durable).
      REQUIRE(sec.applier->applied_seq() == resync_seq);
      REQUIRE(StopSecondary(&sec).ok());
      rig.env.PowerCut(rng(), 0.0);
      REQUIRE(ending_round != 0);
      CHECK(Difference(Current(rig), After(before, dirty, ending_round)) == "");
      CHECK_FALSE(rig.env.Exists(kUndoPath));
      ++tally->ended;
      return;
    }
    REQUIRE(sec.applier->applied_seq() == k);  // a resync never moves it before its end
    const bool end = rng() % 3 == 0;
    if (end) ending_round = round;
    const uint64_t last = OfferRound(*sec.applier, dirty, round, end ? resync_seq : 0, rng);
    WaitFor([&] {
      return sec.applier->regions_done() == last || !sec.applier->health().ok() ||
             rig.env.frozen();
    });
    const bool healthy = sec.applier->health().ok();
    st = StopSecondary(&sec);
    if (rig.env.frozen()) {
      rig.env.PowerCut(rng(), KeepProbability(rng));
      ++tally->cuts;
      continue;
    }
    INFO(st.ToString());
    REQUIRE((healthy && st.ok()));
    REQUIRE(sec.applier->regions_done() == last);
    if (armed) rig.env.PowerCut(rng(), 1.0);  // disarm the cut that did not come
    if (end) {
      rig.env.PowerCut(rng(), 0.0);  // all of it durable
      CHECK(Difference(Current(rig), After(before, dirty, round)) == "");
      CHECK_FALSE(rig.env.Exists(kUndoPath));
      auto store = FileStateStore::Open(&rig.env);
      REQUIRE(store.ok());
      CHECK(*(*store)->LoadConsistency());
      CHECK(*(*store)->LoadAppliedSeq() == resync_seq);
      ++tally->ended;
      return;
    }
  }
  // The primary is gone for good: roll back.
  const bool rolled_back = RollBackWithCuts(rig, rng, tally);
  Secondary sec;
  REQUIRE(StartSecondary(rig, &sec).ok());
  const uint64_t applied = sec.applier->applied_seq();
  REQUIRE(StopSecondary(&sec).ok());
  rig.env.PowerCut(rng(), 0.0);
  auto store = FileStateStore::Open(&rig.env);
  REQUIRE(store.ok());
  CHECK(*(*store)->LoadConsistency());
  CHECK_FALSE(rig.env.Exists(kUndoPath));
  if (applied > k) {
    // The end of the last round was durable after all.
    REQUIRE(!rolled_back);
    CHECK(Difference(Current(rig), After(before, dirty, ending_round)) == "");
    ++tally->ended;
    return;
  }
  CHECK(applied == k);
  CHECK(Difference(Current(rig), before) == "");
  if (rolled_back) ++tally->rolled_back;
}

}  // namespace

TEST_CASE("power cuts during a resync with an undo area: the images end up either resynced or "
          "exactly as before it") {
  QuietLogs quiet;
  const uint64_t seed = SeedFrom("RVG_UNDO_POWER_CUT_SEED");
  const int histories = CountFrom("RVG_UNDO_POWER_CUTS", 300);
  std::printf("undo power cuts: seed %llu (RVG_UNDO_POWER_CUT_SEED), %d histories\n",
              static_cast<unsigned long long>(seed), histories);
  Tally tally;
  std::mt19937_64 seeds(seed);
  for (int i = 0; i < histories; ++i) {
    OneHistory(seeds(), &tally);
    ++tally.histories;
  }
  std::printf("undo power cuts: %d histories, %d cuts during resyncs, %d during rollbacks; %d "
              "rolled back, %d ended by the resync\n",
              tally.histories, tally.cuts, tally.rollback_cuts, tally.rolled_back, tally.ended);
  CHECK(tally.rolled_back > 0);
  CHECK(tally.ended > 0);
}

TEST_CASE("a full disk for the undo area fails the resync before a region is written, and says "
          "what to do") {
  QuietLogs quiet;
  DurabilityRig rig;
  REQUIRE(rig.Create().ok());
  REQUIRE(FileStateStore::Create(&rig.env).ok());
  Images before;
  {
    Secondary sec;
    REQUIRE(StartSecondary(rig, &sec).ok());
    sec.applier->Offer(MakeRegion(1, 1, 4096, 8192, 77));  // an ordered write, seq 1
    REQUIRE(WaitFor([&] { return sec.applier->applied_seq() == 1; }));
    before = Current(rig);
    // Begin's two header slots fit; the first record does not.
    rig.env.InjectError({FaultOp::kWriteAt, "rvg.undo", ENOSPC, 2, true});
    REQUIRE(sec.applier->OfferRegion(MakeRegion(1, 1, 0, kRegionSize, 78)));
    REQUIRE(WaitFor([&] { return !sec.applier->health().ok(); }));
    const Status health = sec.applier->health();
    CHECK(health.code() == ENOSPC);
    CHECK_THAT(health.message(), Catch::Matchers::Contains("no region was written") &&
                                     Catch::Matchers::Contains("free space in /rvg/home"));
    CHECK(sec.applier->regions_done() == 0);
    CHECK(sec.applier->applied_seq() == 1);
    CHECK(Difference(Current(rig), before) == "");
    CHECK_FALSE(StopSecondary(&sec).ok());
  }
  rig.env.ClearFaults();
  // The restart finds an empty area at seq 1: rolling back restores nothing
  // and makes the secondary consistent again.
  Secondary sec;
  REQUIRE(OpenFiles(rig, &sec).ok());
  Result<UndoSummary> done =
      RollBackStoppedSecondary(sec.volumes.get(), sec.srl.get(), sec.store.get(), sec.undo.get());
  REQUIRE(done.ok());
  CHECK(done->regions == 0);
  CHECK(done->base_seq == 1);
  CHECK(*sec.store->LoadConsistency());
  CHECK(Difference(Current(rig), before) == "");
}
