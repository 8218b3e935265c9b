// SecondaryApplier's system calls, counted through the rig's CountingEnv:
// a run of records adjacent on a volume reaches the image in one pwritev;
// records nobody on the primary waits for share their SRL syncs (lazy SRL
// sync), and are neither acked nor applied before that sync.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include "core/secondary_applier.h"
#include "secondary_fixture.h"

using namespace rvg;
using namespace rvg::testing;

TEST_CASE("the applier writes records adjacent on a volume in one pwritev, in seq order") {
  SecondaryRig rig;
  auto applier = rig.Applier();
  REQUIRE(applier->Start().ok());
  std::vector<WriteRecord> records;
  for (uint64_t seq = 1; seq <= 12; ++seq) {
    records.push_back(rig.Expect(MakeRecord(seq, 1, (seq - 1) * 4096, 4096)));
  }
  // Seq 13 overwrites seq 12 exactly: a write of its own, after it.
  records.push_back(rig.Expect(MakeRecord(13, 1, 11 * 4096, 4096)));
  records.push_back(rig.Expect(MakeRecord(14, 2, 0, 512)));
  // Seq 1 last: the whole run is ready, logged and applied at once.
  for (size_t i = 1; i < records.size(); ++i) applier->Offer(records[i]);
  applier->Offer(records[0]);
  REQUIRE(WaitFor([&] { return applier->applied_seq() == 14; }));
  CHECK(rig.env.Of("alpha").writes == std::vector<size_t>{12, 1});
  CHECK(rig.env.Of("beta").writes == std::vector<size_t>{1});
  REQUIRE(applier->Stop().ok());
  rig.CheckImages();
}

// ---- Lazy SRL sync ------------------------------------------------------

namespace {

SecondaryApplierOptions LazySync(std::chrono::milliseconds delay, uint64_t bytes = 4ull << 20) {
  SecondaryApplierOptions options;
  options.lazy_sync_delay = delay;
  options.lazy_sync_bytes = bytes;
  options.checkpoint_interval = std::chrono::hours(1);  // only Stop() checkpoints
  return options;
}

// A started applier with lazy SRL sync on a fresh rig.
struct Lazy {
  explicit Lazy(std::chrono::milliseconds delay, uint64_t bytes = 4ull << 20)
      : applier(rig.Applier(LazySync(delay, bytes))) {
    REQUIRE(applier->Start().ok());
    start_syncs = rig.env.Syncs("srl");  // recovery's
  }
  // SRL syncs since the start.
  size_t syncs() const { return rig.env.Syncs("srl") - start_syncs; }
  // Offers `seq` as one lazy record and waits until it is in the SRL.
  void OfferLazy(const WriteRecord& r) {
    applier->Offer(rig.Expect(r), false);
    REQUIRE(WaitFor([&] { return rig.srl->next_seq() == r.seq + 1; }));
  }

  SecondaryRig rig;
  std::unique_ptr<SecondaryApplier> applier;
  size_t start_syncs = 0;
};

}  // namespace

TEST_CASE("a record nobody waits for is acked and applied only after its SRL sync, within the "
          "lazy sync delay") {
  Lazy lazy(std::chrono::milliseconds(300));
  SecondaryRig& rig = lazy.rig;
  SecondaryApplier& applier = *lazy.applier;
  const auto start = std::chrono::steady_clock::now();
  lazy.OfferLazy(MakeRecord(1, 1, 8192, 4096));
  CHECK(applier.received_seq() == 1);  // the network ack is not delayed
  // Appended to the SRL, but neither synced nor on the image nor acked.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(250)) {
    CHECK(applier.applied_seq() == 0);
    CHECK(lazy.syncs() == 0);
    CHECK(rig.env.Writes("alpha") == 0);
    CHECK(ReadAll(*rig.volumes, 1) == std::vector<uint8_t>(rig.specs[0].size, 0));
  }
  REQUIRE(WaitFor([&] { return applier.applied_seq() == 1; }, std::chrono::seconds(5)));
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(300));
  CHECK(lazy.syncs() == 1);
  rig.CheckImages();
  REQUIRE(applier.Stop().ok());
}

TEST_CASE("a record waited for is synced at once, with the lazy ones before it in one sync") {
  Lazy lazy(std::chrono::seconds(30));
  SecondaryApplier& applier = *lazy.applier;
  for (uint64_t seq = 1; seq <= 3; ++seq) lazy.OfferLazy(MakeRecord(seq, 2, seq * 4096, 4096));
  CHECK(applier.applied_seq() == 0);
  applier.Offer(lazy.rig.Expect(MakeRecord(4, 1, 0, 512)), true);
  REQUIRE(WaitFor([&] { return applier.applied_seq() == 4; }, std::chrono::seconds(5)));
  CHECK(lazy.syncs() == 1);
  lazy.rig.CheckImages();
  // A resend, flagged, of a record that waits lazily hurries it too.
  const WriteRecord five = MakeRecord(5, 1, 512, 512);
  lazy.OfferLazy(five);
  CHECK(applier.Offer(five, true) == ReorderBuffer::Offer::kDuplicate);
  REQUIRE(WaitFor([&] { return applier.applied_seq() == 5; }, std::chrono::seconds(5)));
  REQUIRE(applier.Stop().ok());
  lazy.rig.CheckImages();
}

TEST_CASE("lazy records are synced once lazy_sync_bytes of them wait") {
  Lazy lazy(std::chrono::seconds(30), 64 << 10);
  SecondaryApplier& applier = *lazy.applier;
  for (uint64_t seq = 1; seq <= 40; ++seq) lazy.OfferLazy(MakeRecord(seq, 1, seq * 4096, 4096));
  // 16 records of 4 KiB make 64 KiB: synced at seqs 16 and 32.
  REQUIRE(WaitFor([&] { return applier.applied_seq() == 32; }, std::chrono::seconds(5)));
  CHECK(lazy.syncs() == 2);
  // Stop() syncs and applies what still waits, then checkpoints.
  REQUIRE(applier.Stop().ok());
  CHECK(applier.applied_seq() == 40);
  CHECK(lazy.rig.store.saved == 40);
  CHECK(lazy.rig.srl->next_seq() == 41);
  lazy.rig.CheckImages();
}

TEST_CASE("a light load of lazy records shares SRL syncs") {
  Lazy lazy(std::chrono::milliseconds(20));
  SecondaryApplier& applier = *lazy.applier;
  for (uint64_t seq = 1; seq <= 60; ++seq) {
    applier.Offer(lazy.rig.Expect(MakeRecord(seq, 1, (seq % 64) * 4096, 4096)), false);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(WaitFor([&] { return applier.applied_seq() == 60; }));
  // One sync per record before; about one per 20 ms now.
  INFO("SRL syncs: " << lazy.syncs());
  CHECK(lazy.syncs() <= 30);
  REQUIRE(applier.Stop().ok());
  lazy.rig.CheckImages();
}

TEST_CASE("a resync region after lazy records lands over them, and no restart replays them over "
          "it") {
  Lazy lazy(std::chrono::seconds(30));
  SecondaryRig& rig = lazy.rig;
  for (uint64_t seq = 1; seq <= 3; ++seq) lazy.OfferLazy(MakeRecord(seq, 1, 0, 8192));
  REQUIRE(lazy.applier->OfferRegion(rig.Expect(MakeRecord(1, 1, 4096, 65536))));
  REQUIRE(WaitFor([&] { return lazy.applier->regions_done() == 1; }, std::chrono::seconds(5)));
  CHECK(lazy.applier->applied_seq() == 3);
  REQUIRE(lazy.applier->Stop().ok());
  rig.CheckImages();
  lazy.applier.reset();
  rig.Reopen();
  auto again = rig.Applier();
  REQUIRE(again->Start().ok());
  CHECK(again->applied_seq() == 3);
  REQUIRE(again->Stop().ok());
  rig.CheckImages();
}

TEST_CASE("an idle secondary's checkpoints sync nothing and persist nothing") {
  SecondaryRig rig;
  auto applier = rig.Applier(QuickCheckpoints());  // every 10 ms
  REQUIRE(applier->Start().ok());
  applier->Offer(rig.Expect(MakeRecord(1, 1, 0, 4096)));
  // Applied, then checkpointed: saved (and kept in the SRL: retain_fill).
  REQUIRE(WaitFor([&] { return rig.store.saved == 1; }));
  CHECK(rig.srl->tail_seq() == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const size_t syncs = rig.env.Of("").syncs;
  const size_t writes = rig.env.Of("").writes.size();
  const int saves = rig.store.attempts.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // 20 intervals
  CHECK(rig.env.Of("").syncs == syncs);
  CHECK(rig.env.Of("").writes.size() == writes);
  CHECK(rig.store.attempts.load() == saves);
  REQUIRE(applier->Stop().ok());  // nothing new: Stop() checkpoints nothing either
  CHECK(rig.env.Of("").syncs == syncs);
  CHECK(rig.store.attempts.load() == saves);
  rig.CheckImages();
}
