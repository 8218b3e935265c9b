// Power cuts of the primary at random points while its threads run, over
// the FaultEnv. After every cut and recovery to K (the recovered
// last_seq()):
//   (a) the images equal zero-filled volumes with the write history's seqs
//       1..K replayed in seq order — the replay of the recovered SRL;
//   (b) K covers every write acknowledged as durable (a Flush() that
//       returned OK, or a strict write);
//   (c) K covers every seq an RLINK sender could have sent: senders send
//       only what synced_seq() covers, so a secondary may hold it;
//   (d) K never goes below an earlier recovery's K, and the engine hands
//       out K+1, K+2, ... next (the seqs lost in the cut, reused: correct
//       only because, by (c), no secondary can hold them).
// Half of the engine's lives have an RLINK whose secondary acks late (or,
// for a while, not at all), so the tail lags, the SRL fills and writers
// wait for space, and recovery has the RLINK's persisted progress as a
// floor.
// One env lives through all the cuts, so each recovery starts from what the
// previous ones left, and the 4 MiB SRL wraps many times.
//
// RVG_POWER_CUTS sets the number of cuts (default 1000), RVG_POWER_CUT_SEED
// the seed; a failure prints both. Thread timing is not replayed by a seed,
// so a failure may need a few runs to come back.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "durability_rig.h"
#include "rlink_fixture.h"

using namespace rvg;
using namespace rvg::testing;

namespace {

// Per-iteration bounds, sized so that 1000 cuts take well under a minute in
// a debugoptimized build on two cores.
constexpr uint64_t kMaxCutOps = 400;
constexpr int kMaxWritesPerThread = 120;
constexpr auto kHangLimit = std::chrono::seconds(60);

struct Tally {
  CutTally cuts;
  int clean_closes = 0;
  uint64_t answered = 0;
};

// Persists the RLINK's progress as the checkpointer hands it over. The state
// database shares the disk: once the env froze, nothing more is persisted.
class RlinkStore : public CheckpointListener {
 public:
  explicit RlinkStore(FaultEnv* env) : env_(env) {}
  Status PersistRlinkProgress(const std::vector<RlinkSnapshot>& rlinks) override {
    if (env_->frozen()) return Status::Error("persisting RLINK progress: power is off", EIO);
    std::lock_guard<std::mutex> lock(mu_);
    for (const RlinkSnapshot& r : rlinks) saved_ = r;
    return Status::Ok();
  }
  // The RLINK as rvgd loads it on start.
  std::shared_ptr<RlinkSet> Load() const {
    std::lock_guard<std::mutex> lock(mu_);
    return OneRlink("secondary", saved_.sent_seq, saved_.net_acked_seq, saved_.data_acked_seq);
  }

 private:
  FaultEnv* const env_;
  mutable std::mutex mu_;
  RlinkSnapshot saved_;
};

// An RLINK sender and its secondary, reduced to their progress: it sends
// whatever synced_seq() covers (the engine's rule), and the secondary acks
// what was sent `lag` rounds (of 200 us) before, after not acking at all for
// `stall`. Runs in every life of the engine, to learn what a sender could
// have sent; the RLINK is handed to the engine only in some.
class FakeSender {
 public:
  FakeSender(const PrimaryRvg& engine, std::shared_ptr<RlinkSet> rlinks,
             std::chrono::microseconds stall, size_t lag)
      : thread_([this, &engine, rlinks, stall, lag] {
          RlinkProgress* rlink = &rlinks->progress(0);
          const auto stall_end = std::chrono::steady_clock::now() + stall;
          std::deque<uint64_t> in_flight;  // sent, not yet acked, oldest first
          while (!stop_) {
            const uint64_t synced = engine.synced_seq();
            sent_ = synced;
            RlinkProgress::Raise(rlink->sent_seq, synced);
            RlinkProgress::Raise(rlink->net_acked_seq, synced);
            in_flight.push_back(synced);
            while (in_flight.size() > lag && std::chrono::steady_clock::now() >= stall_end) {
              RlinkProgress::Raise(rlink->data_acked_seq, in_flight.front());
              in_flight.pop_front();
            }
            std::this_thread::sleep_for(std::chrono::microseconds(200));
          }
        }) {}
  // Stops it; returns the highest seq it sent.
  uint64_t Stop() {
    stop_ = true;
    thread_.join();
    return sent_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0};
  std::thread thread_;
};

// Writes until a write or a flush fails (the env froze) or the quota is
// done.
void RunWriter(DurabilityRig& rig, PrimaryRvg& engine, uint64_t seed, std::atomic<uint64_t>* ok) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < kMaxWritesPerThread; ++i) {
    if (!rig.WriteRandom(engine, rng, rng() % 32 == 0).ok()) return;
    ++*ok;
    if (rng() % 10 == 0 && !rig.FlushAndAck(engine).ok()) return;
    // A pause now and then lets the periodic checkpoints land mid-run.
    if (rng() % 16 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
  }
}

// One life of the engine: open (recovering from the previous cut), verify,
// write with 2-4 threads until the env freezes, close, cut the power.
void OneCut(DurabilityRig& rig, RlinkStore& store, uint64_t seed, Tally* tally) {
  std::mt19937_64 rng(seed);
  PrimaryOptions options;
  options.checkpoint_interval = std::chrono::milliseconds(5 + rng() % 16);
  if (rng() % 4 == 0) options.max_batch_records = 1 + rng() % 8;

  // Now and then the cut lands inside recovery itself.
  const bool cut_in_recovery = rng() % 10 == 0;
  if (cut_in_recovery) rig.env.CutAfterOps(rng() % 40);
  const uint64_t model_before = rig.model.applied();
  const bool with_rlink = rng() % 2 == 0;
  std::shared_ptr<RlinkSet> rlink = store.Load();
  auto opened = with_rlink ? rig.Open(options, rlink, &store) : rig.Open(options);
  if (!opened.ok()) {
    INFO("Open failed: " << opened.status().ToString());
    REQUIRE(rig.env.frozen());  // only the cut may stop a recovery
    ++tally->cuts.in_recovery;
    rig.env.PowerCut(seed, KeepProbability(rng));
    return;
  }
  std::unique_ptr<PrimaryRvg> engine = std::move(*opened);
  const uint64_t k = engine->last_seq();
  {
    INFO("recovered to seq " << k << "; the model was at seq " << model_before
                             << ", acknowledged up to seq " << rig.model.acknowledged());
    std::string problems = rig.Verify(k);
    INFO(problems);
    REQUIRE(problems.empty());
  }

  // A clean stop now and then: Close() must succeed and keep everything.
  const bool clean_close = !cut_in_recovery && rng() % 10 == 0;
  // Mostly inside the writers' work; one time in five possibly past it, so
  // that the cut comes inside Close() (below).
  if (!clean_close && !cut_in_recovery) {
    rig.env.CutAfterOps(rng() % (rng() % 5 == 0 ? 10 * kMaxCutOps : kMaxCutOps));
  }
  const auto stall = std::chrono::microseconds(rng() % 4 == 0 ? rng() % 100000 : 0);
  FakeSender sender(*engine, rlink, stall, rng() % 200);
  const int threads = 2 + static_cast<int>(rng() % 3);
  std::atomic<uint64_t> answered{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back(RunWriter, std::ref(rig), std::ref(*engine), rng(), &answered);
  }
  const std::string life = "engine life with seed " + std::to_string(seed);
  // Writers that never return (a write stuck for good) hang the suite: abort.
  (void)RunWithin(
      [&writers] {
        for (auto& w : writers) w.join();
        return Status::Ok();
      },
      kHangLimit, "the writers, " + life);
  tally->answered += answered;
  // A secondary may hold everything sent: none of it may be lost.
  rig.model.Acknowledged(sender.Stop());

  const bool frozen_before_close = rig.env.frozen();
  if (clean_close) {
    const uint64_t last = engine->last_seq();
    Status st = CloseWithin(std::move(engine), kHangLimit, "clean close, " + life);
    INFO("clean Close(): " << st.ToString());
    REQUIRE(st.ok());
    rig.model.ClosedCleanly(last);
    ++tally->clean_closes;
  } else {
    // The writers ran out of work before the freeze: cut during Close().
    if (!frozen_before_close) rig.env.CutAfterOps(rng() % 8);
    (void)CloseWithin(std::move(engine), kHangLimit, "close after a freeze, " + life);
  }
  tally->cuts.Count(frozen_before_close, rig.env.frozen());
  rig.env.PowerCut(seed, KeepProbability(rng));
}

}  // namespace

TEST_CASE("power cuts: images equal the replay of the recovered SRL, nothing flushed is lost",
          "[power_cut]") {
  const uint64_t seed = SeedFrom("RVG_POWER_CUT_SEED");
  const int cuts = CountFrom("RVG_POWER_CUTS", 1000);
  CAPTURE(seed, cuts);
  QuietLogs quiet;
  DurabilityRig rig;
  REQUIRE(rig.Create().ok());

  std::mt19937_64 rng(seed);
  RlinkStore store(&rig.env);
  Tally tally;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < cuts; ++i) {
    const uint64_t iteration_seed = rng();
    CAPTURE(i, iteration_seed);
    OneCut(rig, store, iteration_seed, &tally);
  }
  // A last recovery checks what the last cut left.
  auto engine = rig.Open(PrimaryOptions{});
  REQUIRE(engine.ok());
  const uint64_t k = (*engine)->last_seq();
  std::string problems = rig.Verify(k);
  INFO(problems);
  REQUIRE(problems.empty());
  REQUIRE(CloseWithin(std::move(*engine), kHangLimit, "final close").ok());

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("primary power cuts: %s, %d of them after a clean Close(), in %.1f s; %llu "
              "writes answered, %llu seqs lost in cuts, final seq %llu, seed %llu\n",
              tally.cuts.Describe().c_str(), tally.clean_closes, seconds,
              static_cast<unsigned long long>(tally.answered),
              static_cast<unsigned long long>(rig.model.lost()),
              static_cast<unsigned long long>(k), static_cast<unsigned long long>(seed));
}
