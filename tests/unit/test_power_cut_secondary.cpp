// Power cuts of a secondary mid-batch, over the FaultEnv. The applier is fed
// a fixed write history — shuffled, with resends and stale duplicates, as
// several streams and reconnects deliver it — and the power is cut at a
// random operation. After each recovery to K (applied_seq() after Start()):
//   - the images hold exactly the history's seqs 1..K, replayed in order;
//   - K is at least every applied_seq() seen before the cut: a data ack is
//     never taken back;
//   - K never goes below an earlier recovery's K.
// The history never changes (it is the primary's), so the seqs lost in a
// cut come again, with the same data, in the next round. Three in four
// records are offered for lazy SRL sync (sync_now false), with random
// lazy sync options.
//
// RVG_POWER_CUTS sets the number of cuts (default 1000), RVG_POWER_CUT_SEED
// the seed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>

#include "core/crc32c.h"
#include "core/secondary_applier.h"
#include "durability_rig.h"
#include "engine_fixture.h"
#include "file_state_store.h"

using namespace rvg;
using namespace rvg::testing;

namespace {

constexpr uint64_t kMaxCutOps = 150;
constexpr uint64_t kMaxWindow = 150;  // seqs offered per round
constexpr auto kStopLimit = std::chrono::seconds(30);

WriteRecord MakeRecord(uint64_t seq, const WriteRange& range, uint64_t tag) {
  std::vector<uint8_t> bytes = TaggedData(tag, range.length);
  auto data = std::make_shared<DataBuffer>(range.length);
  std::memcpy(data->data(), bytes.data(), bytes.size());
  return WriteRecord{seq, range.volume, range.offset, static_cast<uint32_t>(range.length),
                     Crc32c(data->data(), range.length), std::move(data)};
}

// The primary's history: record `seq` is made on first use, from one random
// stream, so a seed always yields the same history.
class History {
 public:
  History(const std::vector<VolumeSpec>& specs, uint64_t seed) : specs_(specs), rng_(seed) {}

  const WriteRecord& At(uint64_t seq) {
    while (base_ + records_.size() <= seq) {
      const uint64_t next = base_ + records_.size();
      records_.push_back(MakeRecord(next, RandomRange(rng_, specs_), next));
    }
    return records_[seq - base_];
  }
  // Records below `seq` are verified on the images and never asked for again.
  void ForgetBelow(uint64_t seq) {
    while (base_ < seq && !records_.empty()) {
      records_.pop_front();
      ++base_;
    }
  }

 private:
  const std::vector<VolumeSpec> specs_;
  std::mt19937_64 rng_;
  std::deque<WriteRecord> records_;  // records_[0] is seq base_
  uint64_t base_ = 1;
};

// The round's offers: seqs from..to (each maybe twice), plus resends of
// seqs already applied, carrying different bytes so that applying one would
// show; fully shuffled, or only locally as one stream with retransmits.
std::vector<WriteRecord> Offers(History& history, const std::vector<VolumeSpec>& specs,
                                uint64_t from, uint64_t to, std::mt19937_64& rng) {
  std::vector<WriteRecord> offers;
  for (uint64_t seq = from; seq <= to; ++seq) {
    offers.push_back(history.At(seq));
    if (rng() % 8 == 0) offers.push_back(history.At(seq));
  }
  for (uint64_t i = rng() % 4; i > 0 && from > 1; --i) {
    const uint64_t stale = from - 1 - rng() % std::min<uint64_t>(from - 1, 50);
    offers.push_back(MakeRecord(stale, RandomRange(rng, specs), (1ull << 63) | stale));
  }
  const size_t chunk = rng() % 2 == 0 ? offers.size() : 8;
  for (size_t i = 0; i < offers.size(); i += chunk) {
    auto end = offers.begin() + static_cast<ptrdiff_t>(std::min(offers.size(), i + chunk));
    std::shuffle(offers.begin() + static_cast<ptrdiff_t>(i), end, rng);
  }
  return offers;
}

struct Tally {
  CutTally cuts;
  int clean_stops = 0;
  uint64_t offered = 0;
};

struct Round {
  DurabilityRig& rig;
  History& history;
  uint64_t max_offered = 0;  // highest seq ever offered, for the model
  Tally tally;
};

// A running secondary; members go in reverse order, the applier first.
struct Secondary {
  std::unique_ptr<VolumeSet> volumes;
  std::unique_ptr<Srl> srl;
  std::unique_ptr<FileStateStore> store;
  std::unique_ptr<SecondaryApplier> applier;
};

// Opens and starts the secondary on the env and checks what it recovered
// against the model. False when the freeze stopped the recovery.
bool RecoverAndVerify(Round& round, std::mt19937_64& rng, Secondary* sec) {
  DurabilityRig& rig = round.rig;
  SecondaryApplierOptions options;
  options.checkpoint_interval = std::chrono::milliseconds(5 + rng() % 16);
  options.checkpoint_fill = 0.2 + 0.6 * std::uniform_real_distribution<double>(0, 1)(rng);
  options.max_batch_bytes = (64ull << 10) << (rng() % 5);
  // Applied records kept in the SRL: none, or up to half the checkpoint
  // fill. (Cuts during resyncs, where replaying a kept record would undo
  // a region, are in test_power_cut_undo, which runs with the default.)
  options.retain_fill = (rng() % 3 == 0) ? 0.0
                                         : std::uniform_real_distribution<double>(0, 0.4)(rng);
  // Lazy SRL sync of records offered with sync_now=false (OneCut flags a
  // random part of them): from at once to 20 ms, from 4 KiB to 512 KiB.
  options.lazy_sync_delay = std::chrono::microseconds(rng() % 20000);
  options.lazy_sync_bytes = (4ull << 10) << (rng() % 8);
  auto volumes = VolumeSet::Open(rig.specs, &rig.env);
  auto srl = Srl::Open(rig.srl_path, rig.uuid, &rig.env);
  auto store = FileStateStore::Open(&rig.env);
  Status st = !volumes.ok() ? volumes.status() : !srl.ok() ? srl.status() : store.status();
  if (st.ok()) {
    sec->volumes = std::move(*volumes);
    sec->srl = std::move(*srl);
    sec->store = std::move(*store);
    sec->applier = std::make_unique<SecondaryApplier>(sec->volumes.get(), sec->srl.get(),
                                                      sec->store.get(), nullptr, options);
    st = sec->applier->Start();
  }
  if (!st.ok()) {
    INFO("recovery failed: " << st.ToString());
    REQUIRE(rig.env.frozen());  // only the cut may stop a recovery
    return false;
  }
  const uint64_t k = sec->applier->applied_seq();
  INFO("recovered to seq " << k << "; the model was at seq " << rig.model.applied()
                           << ", data-acked up to seq " << rig.model.acknowledged());
  for (uint64_t seq = rig.model.applied() + 1; seq <= std::max(k, round.max_offered); ++seq) {
    rig.model.Sequenced(round.history.At(seq));
  }
  std::string problems = rig.Verify(k);
  INFO(problems);
  REQUIRE(problems.empty());
  round.history.ForgetBelow(k + 1);
  return true;
}

// Stops the applier; returns the last applied_seq() it showed. Every value
// it ever showed is at most this one: it only grows, and cannot after the
// freeze (its next sync fails).
uint64_t StopSecondary(Secondary* sec, const std::string& life, Status* st) {
  *st = RunWithin([sec] { return sec->applier->Stop(); }, kStopLimit,
                  "SecondaryApplier::Stop(), " + life);
  const uint64_t acked = sec->applier->applied_seq();
  sec->applier.reset();
  return acked;
}

// One life of the secondary: recover, verify, take a shuffled window of
// the history, and lose the power somewhere in it (or in Stop()).
void OneCut(Round& round, uint64_t seed) {
  DurabilityRig& rig = round.rig;
  std::mt19937_64 rng(seed);
  const bool cut_in_recovery = rng() % 10 == 0;
  if (cut_in_recovery) rig.env.CutAfterOps(rng() % 40);
  Secondary sec;
  if (!RecoverAndVerify(round, rng, &sec)) {
    ++round.tally.cuts.in_recovery;
    rig.env.PowerCut(seed, KeepProbability(rng));
    return;
  }
  SecondaryApplier& applier = *sec.applier;
  const uint64_t k = applier.applied_seq();

  const bool clean_stop = !cut_in_recovery && rng() % 10 == 0;
  if (!clean_stop && !cut_in_recovery) {
    rig.env.CutAfterOps(rng() % (rng() % 5 == 0 ? 10 * kMaxCutOps : kMaxCutOps));
  }
  const uint64_t last = k + 1 + rng() % kMaxWindow;
  for (const WriteRecord& r : Offers(round.history, rig.specs, k + 1, last, rng)) {
    (void)applier.Offer(r, rng() % 4 == 0);
    ++round.tally.offered;
    if (rng() % 32 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 1000));
  }
  round.max_offered = std::max(round.max_offered, last);
  const bool settled = WaitFor([&] {
    return applier.applied_seq() >= last || rig.env.frozen() || !applier.health().ok();
  });
  // Not frozen yet: the cut comes inside Stop().
  const bool frozen_before_stop = rig.env.frozen();
  if (!frozen_before_stop && !clean_stop && !cut_in_recovery) rig.env.CutAfterOps(rng() % 8);
  Status st;
  const uint64_t acked = StopSecondary(&sec, "life with seed " + std::to_string(seed), &st);
  INFO("applied_seq " << acked << " of " << last << " offered; Stop() returned "
                      << st.ToString());
  REQUIRE(settled);
  if (clean_stop) {
    REQUIRE(st.ok());
    REQUIRE(acked == last);
    ++round.tally.clean_stops;
  }
  rig.model.Acknowledged(acked);
  round.tally.cuts.Count(frozen_before_stop, rig.env.frozen());
  rig.env.PowerCut(seed, KeepProbability(rng));
}

}  // namespace

TEST_CASE("secondary power cuts mid-batch: the images are a prefix that covers every data ack",
          "[power_cut]") {
  const uint64_t seed = SeedFrom("RVG_POWER_CUT_SEED");
  const int cuts = CountFrom("RVG_POWER_CUTS", 1000);
  CAPTURE(seed, cuts);
  QuietLogs quiet;
  DurabilityRig rig;
  REQUIRE(rig.Create().ok());
  REQUIRE(FileStateStore::Create(&rig.env).ok());
  History history(rig.specs, seed);
  Round round{rig, history, 0, {}};

  std::mt19937_64 rng(seed ^ 0x5ec0da7);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < cuts; ++i) {
    const uint64_t iteration_seed = rng();
    CAPTURE(i, iteration_seed);
    OneCut(round, iteration_seed);
  }
  // A last recovery checks what the last cut left.
  Secondary sec;
  REQUIRE(RecoverAndVerify(round, rng, &sec));
  Status st;
  StopSecondary(&sec, "the final recovery", &st);
  REQUIRE(st.ok());
  const Tally& tally = round.tally;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("secondary power cuts: %s, %d of them after a clean Stop(), in %.1f s; %llu "
              "records offered, applied up to seq %llu, seed %llu\n",
              tally.cuts.Describe().c_str(), tally.clean_stops, seconds, static_cast<unsigned long long>(tally.offered),
              static_cast<unsigned long long>(rig.model.applied()),
              static_cast<unsigned long long>(seed));
}

TEST_CASE("records waiting for their lazy SRL sync are on no image; a power cut keeps all or "
          "none of them", "[power_cut]") {
  QuietLogs quiet;
  for (const double keep : {0.0, 1.0}) {
    CAPTURE(keep);
    DurabilityRig rig;
    REQUIRE(rig.Create().ok());
    REQUIRE(FileStateStore::Create(&rig.env).ok());
    Secondary sec;
    auto volumes = VolumeSet::Open(rig.specs, &rig.env);
    auto srl = Srl::Open(rig.srl_path, rig.uuid, &rig.env);
    auto store = FileStateStore::Open(&rig.env);
    REQUIRE((volumes.ok() && srl.ok() && store.ok()));
    sec.volumes = std::move(*volumes);
    sec.srl = std::move(*srl);
    sec.store = std::move(*store);
    SecondaryApplierOptions options;
    options.lazy_sync_delay = std::chrono::seconds(60);
    sec.applier = std::make_unique<SecondaryApplier>(sec.volumes.get(), sec.srl.get(),
                                                     sec.store.get(), nullptr, options);
    REQUIRE(sec.applier->Start().ok());
    History history(rig.specs, 1);
    for (uint64_t seq = 1; seq <= 5; ++seq) sec.applier->Offer(history.At(seq), false);
    REQUIRE(WaitFor([&] { return sec.srl->next_seq() == 6; }));
    // In the SRL (page cache), not synced: not acked, and no image write yet.
    CHECK(sec.applier->applied_seq() == 0);
    for (const VolumeSpec& spec : rig.specs) {
      CHECK(rig.env.Contents(spec.path) == std::vector<uint8_t>(spec.size, 0));
    }
    rig.env.CutAfterOps(0);
    Status st;
    StopSecondary(&sec, "before the lazy sync", &st);
    CHECK_FALSE(st.ok());  // the power was off for the sync
    sec = Secondary{};
    rig.env.PowerCut(1, keep);

    Round round{rig, history, 5, {}};
    std::mt19937_64 rng(1);
    REQUIRE(RecoverAndVerify(round, rng, &sec));
    CHECK(sec.applier->applied_seq() == (keep == 0.0 ? 0 : 5));
    StopSecondary(&sec, "after the recovery", &st);
    CHECK(st.ok());
  }
}
