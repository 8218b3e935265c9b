// SecondaryApplier: out-of-order arrival, in-order application through the
// secondary's own SRL; recovery by replay; runs larger than the SRL; the
// state store's busy and persistent failures.
//
// Power cuts are proven over the fault-injecting FileEnv elsewhere; these
// tests use real files and restart by reopening them.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include "core/secondary_applier.h"
#include "secondary_fixture.h"

using namespace rvg;
using namespace rvg::testing;
using Catch::Matchers::Contains;

TEST_CASE("shuffled and duplicated arrivals are applied once each, in seq order") {
  SecondaryRig rig;
  // Overlapping writes: only in-order application gives the expected image.
  std::mt19937 rng(7);
  std::vector<WriteRecord> records;
  for (uint64_t seq = 1; seq <= 500; ++seq) {
    uint32_t vol = 1 + rng() % 2;
    records.push_back(rig.Expect(MakeRecord(seq, vol, (rng() % 32) * 512, 512 * (1 + rng() % 8))));
  }
  auto arrivals = records;
  arrivals.insert(arrivals.end(), records.begin(), records.begin() + 100);  // resends
  std::shuffle(arrivals.begin(), arrivals.end(), rng);

  std::atomic<int> notified{0};
  auto applier = rig.Applier({}, [&] { ++notified; });
  REQUIRE(applier->Start().ok());
  int duplicates = 0;
  for (auto& r : arrivals) {
    if (applier->Offer(r) == ReorderBuffer::Offer::kDuplicate) ++duplicates;
  }
  CHECK(duplicates == 100);
  CHECK(applier->received_seq() == 500);
  REQUIRE(WaitFor([&] { return applier->applied_seq() >= 500; }));
  CHECK(applier->applied_seq() == 500);
  CHECK(notified > 0);
  REQUIRE(applier->Stop().ok());
  // The clean stop checkpointed everything; the SRL keeps the newest
  // records (they fit retain_fill).
  CHECK(rig.store.saved == 500);
  CHECK(rig.srl->next_seq() == 501);
  rig.CheckImages();
}

TEST_CASE("nothing past a gap is applied") {
  SecondaryRig rig;
  auto applier = rig.Applier();
  REQUIRE(applier->Start().ok());
  applier->Offer(rig.Expect(MakeRecord(1, 1, 0, 512)));
  applier->Offer(MakeRecord(3, 1, 4096, 512));  // 2 is missing
  REQUIRE(WaitFor([&] { return applier->applied_seq() >= 1; }));
  CHECK(applier->applied_seq() == 1);
  CHECK(applier->received_seq() == 1);
  auto gap = applier->FirstGap();
  REQUIRE(gap.has_value());
  CHECK(gap->first == 2);
  CHECK(gap->second == 2);
  REQUIRE(applier->Stop().ok());
  CHECK(rig.srl->next_seq() == 2);  // 3 never reached the SRL
  rig.CheckImages();
}

TEST_CASE("the data ack comes before the checkpoint, which follows within its interval") {
  SecondaryRig rig;
  SecondaryApplierOptions options;
  options.checkpoint_interval = std::chrono::milliseconds(500);
  options.retain_fill = 0;  // the checkpoint releases what it covers
  auto applier = rig.Applier(options);
  REQUIRE(applier->Start().ok());
  applier->Offer(rig.Expect(MakeRecord(1, 2, 8192, 4096)));
  REQUIRE(WaitFor([&] { return applier->applied_seq() == 1; }));
  // Durable in the SRL and acked; the images are synced and the SRL
  // released at the next checkpoint.
  CHECK(rig.store.saved == 0);
  CHECK(rig.srl->tail_seq() == 1);
  REQUIRE(WaitFor([&] { return rig.store.saved == 1; }));
  REQUIRE(WaitFor([&] { return rig.srl->tail_seq() == 2; }));
  REQUIRE(applier->Stop().ok());
  rig.CheckImages();
}

TEST_CASE("start replays the SRL onto the images and resumes after it") {
  SecondaryRig rig;
  // As if a previous applier had logged seqs 1..20 and crashed before
  // writing them to the images or persisting anything.
  REQUIRE(rig.srl->Recover([](const WriteRecord&) { return Status::Ok(); }).ok());
  std::vector<WriteRecord> logged;
  for (uint64_t seq = 1; seq <= 20; ++seq) {
    logged.push_back(rig.Expect(MakeRecord(seq, 1 + seq % 2, (seq % 4) * 4096, 8192)));
  }
  auto n = rig.srl->Append(logged.data(), logged.size());
  REQUIRE(n.ok());
  REQUIRE(*n == logged.size());
  REQUIRE(rig.srl->Sync().ok());
  rig.Reopen();

  SecondaryApplierOptions no_retention;
  no_retention.retain_fill = 0;
  auto applier = rig.Applier(no_retention);
  REQUIRE(applier->Start().ok());
  CHECK(applier->applied_seq() == 20);
  CHECK(applier->received_seq() == 20);
  CHECK(rig.store.saved == 20);  // Start checkpoints the replay
  CHECK(rig.srl->tail_seq() == 21);
  rig.CheckImages();

  CHECK(applier->Offer(MakeRecord(20, 1, 0, 512)) == ReorderBuffer::Offer::kDuplicate);
  applier->Offer(rig.Expect(MakeRecord(21, 1, 0, 512)));
  REQUIRE(WaitFor([&] { return applier->applied_seq() == 21; }));
  REQUIRE(applier->Stop().ok());

  // A restart after a clean stop has nothing to replay.
  applier.reset();
  rig.Reopen();
  applier = rig.Applier(no_retention);
  REQUIRE(applier->Start().ok());
  CHECK(applier->applied_seq() == 21);
  CHECK(rig.srl->used_bytes() == 0);
  REQUIRE(applier->Stop().ok());
  rig.CheckImages();
}

// doc/failover.md, "Three hosts": after a takeover the records stream to
// a secondary behind this host, or list what a secondary ahead must roll
// back.
TEST_CASE("checkpoints keep the newest applied records within retain_fill; a restart keeps them") {
  SecondaryRig rig(Srl::kMinSize);
  SecondaryApplierOptions options;
  options.checkpoint_interval = std::chrono::milliseconds(1);
  options.checkpoint_fill = 0.5;
  options.retain_fill = 0.2;
  auto applier = rig.Applier(options);
  REQUIRE(applier->Start().ok());
  const uint64_t budget = rig.srl->capacity_bytes() / 5;
  const uint32_t length = 64 << 10;
  uint64_t seq = 0;
  while (Srl::RecordBytes(length) * (seq + 1) <= budget / 2) {
    ++seq;
    applier->Offer(rig.Expect(MakeRecord(seq, 1 + seq % 2, (seq % 16) * length, length)));
  }
  REQUIRE(WaitFor([&] { return rig.store.saved == seq; }));
  CHECK(rig.srl->tail_seq() == 1);  // all within the budget: all kept
  // Twice the SRL more: the oldest go, the newest stay, never over budget
  // at a checkpoint by more than a record.
  const uint64_t total = seq + 2 * rig.srl->capacity_bytes() / Srl::RecordBytes(length);
  while (seq < total) {
    ++seq;
    applier->Offer(rig.Expect(MakeRecord(seq, 1 + seq % 2, (seq % 16) * length, length)));
  }
  REQUIRE(WaitFor([&] { return rig.store.saved == seq; }));
  REQUIRE(WaitFor([&] { return rig.srl->used_bytes() <= budget + Srl::RecordBytes(length); }));
  const uint64_t kept_from = rig.srl->tail_seq();
  CHECK(kept_from > 1);
  CHECK(kept_from < seq - 2);
  REQUIRE(applier->Stop().ok());
  applier.reset();
  rig.Reopen();
  applier = rig.Applier(options);
  REQUIRE(applier->Start().ok());
  CHECK(applier->applied_seq() == seq);
  CHECK(rig.srl->tail_seq() == kept_from);
  for (uint64_t s = kept_from; s <= seq; ++s) {
    auto r = rig.srl->Read(s);
    REQUIRE(r.ok());
    CHECK(r->offset == (s % 16) * length);
  }
  REQUIRE(applier->Stop().ok());
  rig.CheckImages();
}

TEST_CASE("an SRL that ends below the persisted applied_seq is refused") {
  SecondaryRig rig;
  rig.store.saved = 5;  // but the SRL is empty from seq 1: it lost 1..5
  auto applier = rig.Applier();
  Status st = applier->Start();
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Contains("is damaged") && Contains("seqs up to 5"));
  CHECK(applier->Stop().ok());  // nothing ran
}

TEST_CASE("a run larger than the whole SRL is logged and applied in pieces") {
  SecondaryRig rig(Srl::kMinSize);
  SecondaryApplierOptions options;
  options.checkpoint_fill = 1.0;  // only a full SRL makes room
  options.checkpoint_interval = std::chrono::hours(1);
  auto applier = rig.Applier(options);
  REQUIRE(applier->Start().ok());
  // 48 x 256 KiB = 12 MiB, three times the SRL. Seq 1 last, so the whole
  // run becomes ready at once.
  const size_t kLength = 256 << 10;
  std::vector<WriteRecord> records;
  for (uint64_t seq = 1; seq <= 48; ++seq) {
    records.push_back(rig.Expect(MakeRecord(seq, 1, ((seq * 5) % 32) * kLength, kLength)));
  }
  for (size_t i = 1; i < records.size(); ++i) applier->Offer(records[i]);
  CHECK(applier->applied_seq() == 0);
  applier->Offer(records[0]);
  REQUIRE(WaitFor([&] { return applier->applied_seq() == 48; }));
  CHECK(applier->health().ok());
  CHECK(rig.store.saved >= 30);  // checkpoints made room on the way
  REQUIRE(applier->Stop().ok());
  CHECK(rig.store.saved == 48);
  rig.CheckImages();
}

TEST_CASE("a busy store is retried until it answers") {
  SecondaryRig rig;
  auto applier = rig.Applier(QuickCheckpoints());
  REQUIRE(applier->Start().ok());
  rig.store.BusyFor(3);
  applier->Offer(rig.Expect(MakeRecord(1, 1, 0, 4096)));
  REQUIRE(WaitFor([&] { return rig.store.saved == 1; }));
  CHECK(rig.store.attempts == 4);
  CHECK(applier->health().ok());
  applier->Offer(rig.Expect(MakeRecord(2, 1, 4096, 4096)));
  REQUIRE(applier->Stop().ok());
  CHECK(rig.store.saved == 2);
  rig.CheckImages();
}

TEST_CASE("a stop does not wait out a busy store; the next start replays what it missed") {
  SecondaryRig rig;
  SecondaryApplierOptions options = QuickCheckpoints();
  options.store_busy_timeout = std::chrono::minutes(5);
  auto applier = rig.Applier(options);
  REQUIRE(applier->Start().ok());
  rig.store.BusyFor(FakeStore::kForever);
  applier->Offer(rig.Expect(MakeRecord(1, 1, 0, 4096)));
  REQUIRE(WaitFor([&] { return applier->applied_seq() == 1 && rig.store.attempts > 1; }));

  std::atomic<bool> stopped{false};
  Status st;
  std::thread stopper([&] {
    st = applier->Stop();
    stopped = true;
  });
  const bool in_time = WaitFor([&] { return stopped.load(); }, std::chrono::seconds(10));
  if (!in_time) rig.store.BusyFor(0);  // let the stuck stop end before failing
  stopper.join();
  REQUIRE(in_time);
  CHECK(st.ok());
  CHECK(rig.store.saved == 0);

  // Restarted with the store free again: the SRL still held the write.
  applier.reset();
  rig.store.BusyFor(0);
  rig.Reopen();
  applier = rig.Applier(options);
  REQUIRE(applier->Start().ok());
  CHECK(applier->applied_seq() == 1);
  REQUIRE(applier->Stop().ok());
  CHECK(rig.store.saved == 1);
  rig.CheckImages();
}

TEST_CASE("a store that keeps failing stops the applier, and it says why") {
  SecondaryRig rig;
  SecondaryApplierOptions options = QuickCheckpoints();
  options.store_busy_timeout = std::chrono::milliseconds(50);
  std::atomic<int> changes{0};
  auto applier = rig.Applier(options, [&] { ++changes; });
  REQUIRE(applier->Start().ok());

  SECTION("an error other than EBUSY, at once") {
    rig.store.FailWith(Status::Error("saving applied_seq: disk I/O error", EIO));
    applier->Offer(MakeRecord(1, 1, 0, 4096));
    REQUIRE(WaitFor([&] { return !applier->health().ok(); }));
    CHECK(applier->health().message() ==
          "checkpoint: persisting applied_seq: saving applied_seq: disk I/O error");
    CHECK(rig.store.attempts == 1);
  }
  SECTION("EBUSY past the busy timeout") {
    rig.store.BusyFor(FakeStore::kForever);
    applier->Offer(MakeRecord(1, 1, 0, 4096));
    REQUIRE(WaitFor([&] { return !applier->health().ok(); }));
    CHECK_THAT(applier->health().message(), Contains("stayed busy for 50 ms"));
    CHECK(applier->health().code() == EBUSY);
    CHECK(rig.store.attempts > 1);
  }
  // The write was durable in the SRL before the checkpoint failed.
  CHECK(applier->applied_seq() == 1);
  // The data ack, then the failure; the second call may come just after
  // health() turned bad.
  CHECK(WaitFor([&] { return changes >= 2; }));
  // Sticky: nothing more is applied, and Stop reports the failure.
  applier->Offer(MakeRecord(2, 1, 0, 4096));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(applier->applied_seq() == 1);
  CHECK_FALSE(applier->Stop().ok());
  CHECK(rig.store.saved == 0);
}

TEST_CASE("an image write that fails stops the applier for good") {
  SecondaryRig rig;
  auto applier = rig.Applier();
  REQUIRE(applier->Start().ok());
  applier->Offer(rig.Expect(MakeRecord(1, 2, 0, 512)));
  REQUIRE(WaitFor([&] { return applier->applied_seq() == 1; }));
  // Past the end of volume 2 (4 MiB): message validation would never let
  // this through; here it stands for an image write that fails.
  applier->Offer(MakeRecord(2, 2, 4 << 20, 512));
  applier->Offer(MakeRecord(3, 2, 512, 512));
  REQUIRE(WaitFor([&] { return !applier->health().ok(); }));
  CHECK_THAT(applier->health().message(), Contains("applying") && Contains("seq 2"));
  CHECK(applier->applied_seq() == 1);
  CHECK_FALSE(applier->Stop().ok());
  rig.CheckImages();  // seq 3 never applied
}

TEST_CASE("a bitmap resync: regions, then the end moves the applier and its SRL to the resync seq") {
  SecondaryRig rig;
  auto applier = rig.Applier(QuickCheckpoints());
  REQUIRE(applier->Start().ok());
  for (uint64_t seq = 1; seq <= 5; ++seq) applier->Offer(rig.Expect(MakeRecord(seq, 1, seq * 4096, 4096)));
  REQUIRE(WaitFor([&] { return applier->applied_seq() == 5; }));
  // Regions numbered 1..3 carry the primary's contents as of seq 20; the
  // first overwrites what seq 2 wrote.
  REQUIRE(applier->OfferRegion(rig.Expect(MakeRecord(1, 1, 8192, 8192))));
  REQUIRE(applier->OfferRegion(rig.Expect(MakeRecord(2, 2, 0, 65536))));
  REQUIRE(applier->OfferRegion(rig.Expect(MakeRecord(3, 1, 1 << 20, 4096))));
  REQUIRE(WaitFor([&] { return applier->regions_done() == 3; }));
  CHECK(applier->applied_seq() == 5);  // regions are not seqs
  applier->OfferResyncEnd(20, 4);
  REQUIRE(WaitFor([&] { return applier->regions_done() == 4; }));
  CHECK(applier->applied_seq() == 20);
  CHECK(rig.store.saved == 20);
  CHECK(rig.store.Consistency() == std::vector<bool>{false, true});
  CHECK(rig.srl->next_seq() == 21);
  // Ordered writes go on from 21.
  applier->Offer(rig.Expect(MakeRecord(21, 2, 4096, 512)));
  REQUIRE(WaitFor([&] { return applier->applied_seq() == 21; }));
  REQUIRE(applier->Stop().ok());
  rig.CheckImages();
  // A restart finds the same place and the same images.
  rig.Reopen();
  auto again = rig.Applier(QuickCheckpoints());
  REQUIRE(again->Start().ok());
  CHECK(again->applied_seq() == 21);
  REQUIRE(again->Stop().ok());
  rig.CheckImages();
}

TEST_CASE("resync regions queued together are written a batch at a time, the end after the last") {
  SecondaryRig rig;
  SecondaryApplierOptions options = QuickCheckpoints();
  options.resync_batch_bytes = 8192;  // two 4 KiB regions a batch
  std::mutex mu;
  std::vector<uint64_t> counts;  // regions_done() at each change
  std::unique_ptr<SecondaryApplier> applier;
  applier = rig.Applier(options, [&] {
    std::lock_guard<std::mutex> lock(mu);
    if (counts.empty() || counts.back() != applier->regions_done()) {
      counts.push_back(applier->regions_done());
    }
  });
  // Queued before the apply thread runs, so that all of them wait at once.
  for (uint64_t n = 1; n <= 5; ++n) {
    REQUIRE(applier->OfferRegion(rig.Expect(MakeRecord(n, 1, n * 65536, 4096))));
  }
  applier->OfferResyncEnd(9, 6);
  REQUIRE(applier->Start().ok());
  REQUIRE(WaitFor([&] { return applier->regions_done() == 6; }));
  CHECK(applier->applied_seq() == 9);
  REQUIRE(applier->Stop().ok());
  rig.CheckImages();
  std::lock_guard<std::mutex> lock(mu);
  CHECK(counts == std::vector<uint64_t>{2, 4, 6});
}

TEST_CASE("a resync cut short leaves the applied seq where it was and the store told inconsistent") {
  SecondaryRig rig;
  {
    auto applier = rig.Applier(QuickCheckpoints());
    REQUIRE(applier->Start().ok());
    applier->Offer(rig.Expect(MakeRecord(1, 1, 0, 4096)));
    REQUIRE(WaitFor([&] { return applier->applied_seq() == 1; }));
    REQUIRE(applier->OfferRegion(rig.Expect(MakeRecord(1, 1, 0, 65536))));
    REQUIRE(WaitFor([&] { return applier->regions_done() == 1; }));
    REQUIRE(applier->Stop().ok());
  }
  CHECK(rig.store.Consistency() == std::vector<bool>{false});
  // The restart must not replay seq 1 over the region that replaced it.
  rig.Reopen();
  auto applier = rig.Applier(QuickCheckpoints());
  REQUIRE(applier->Start().ok());
  CHECK(applier->applied_seq() == 1);
  CHECK(applier->regions_done() == 0);
  REQUIRE(applier->Stop().ok());
  rig.CheckImages();
}

TEST_CASE("a resync that ends below what was applied stops the applier") {
  SecondaryRig rig;
  auto applier = rig.Applier(QuickCheckpoints());
  REQUIRE(applier->Start().ok());
  for (uint64_t seq = 1; seq <= 3; ++seq) applier->Offer(MakeRecord(seq, 1, 0, 512));
  REQUIRE(WaitFor([&] { return applier->applied_seq() == 3; }));
  applier->OfferResyncEnd(2, 1);
  REQUIRE(WaitFor([&] { return !applier->health().ok(); }));
  CHECK_THAT(applier->health().message(), Contains("below the applied seq 3"));
  CHECK(applier->applied_seq() == 3);
}
