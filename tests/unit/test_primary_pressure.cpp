// The primary under pressure, over the FaultEnv: a full SRL, a stop that
// abandons the writes waiting for its space, a checkpoint that frees space
// at the worst moment, and a stalled image disk. None of them may hang a
// writer, break the seq chain or answer a write wrongly, and memory for
// data not yet on the images stays bounded.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "durability_rig.h"
#include "engine_fixture.h"
#include "rlink_fixture.h"

using namespace rvg;
using namespace rvg::testing;

namespace {

constexpr auto kLimit = std::chrono::seconds(20);

// An RLINK that never acks: the SRL tail stays at seq 1 until it does.
std::shared_ptr<RlinkSet> Pin() { return OneRlink("pin"); }

// One write from its own thread, so that the test can queue several.
struct AsyncWrite {
  AsyncWrite(PrimaryRvg* engine, uint64_t tag, uint32_t volume, uint64_t offset, size_t length)
      : data(TaggedData(tag, length)) {
    thread = std::thread([this, engine, volume, offset] {
      status = engine->Write(volume, offset, data.data(), data.size(), false);
      finished = true;
    });
  }
  Status Join() {
    thread.join();
    return status;
  }
  std::vector<uint8_t> data;
  Status status;
  std::atomic<bool> finished{false};
  std::thread thread;
};

// 64 KiB batches and a memory budget of `budget` bytes.
PrimaryOptions SmallBudget(uint64_t budget) {
  PrimaryOptions options = FastCheckpoints();
  options.unapplied_budget_bytes = budget;
  options.max_batch_bytes = 64 << 10;
  return options;
}

// Creates the rig's files and opens the engine; image writes to volume 1
// ("alpha") then stall until rig.env.ResumeWrites().
std::unique_ptr<PrimaryRvg> OpenWithStalledImage(DurabilityRig& rig,
                                                 const PrimaryOptions& options) {
  REQUIRE(rig.Create().ok());
  auto opened = rig.Open(options);
  REQUIRE(opened.ok());
  rig.env.StallWrites("alpha.img");
  return std::move(*opened);
}

void RequireVerified(DurabilityRig& rig, uint64_t k) {
  std::string problems = rig.Verify(k);
  INFO(problems);
  REQUIRE(problems.empty());
}

}  // namespace

TEST_CASE("a stop abandons the writes waiting for SRL space; what reached the SRL is answered "
          "OK and the engine carries on",
          "[pressure]") {
  QuietLogs quiet;
  DurabilityRig rig;
  REQUIRE(rig.Create().ok());
  auto pin = Pin();
  auto opened = rig.Open(FastCheckpoints(), pin);
  REQUIRE(opened.ok());
  std::unique_ptr<PrimaryRvg> engine = std::move(*opened);

  // Fill the log so that the free space takes one 512 KiB record after a
  // small one, but not two.
  constexpr size_t kBig = 512 << 10;
  const uint64_t small_bytes = Srl::RecordBytes(4096);
  const uint64_t big_bytes = Srl::RecordBytes(kBig);
  uint64_t tag = 1;
  while (engine->srl_capacity_bytes() - engine->srl_used_bytes() - small_bytes >= 2 * big_bytes) {
    const auto data = TaggedData(tag++, kBig);
    REQUIRE(engine->Write(1, 0, data.data(), data.size(), false).ok());
  }
  const uint64_t filled = engine->last_seq();

  // A leader stuck in its SRL write lets three big writes queue behind it;
  // they then form one batch, of which only the first fits.
  rig.env.StallWrites("/srl");
  AsyncWrite small(engine.get(), tag++, 2, 0, 4096);
  REQUIRE(WaitFor([&] { return engine->queued_writes() == 1; }, kLimit));
  std::vector<std::unique_ptr<AsyncWrite>> big;
  for (int i = 0; i < 3; ++i) {
    big.push_back(std::make_unique<AsyncWrite>(engine.get(), tag++, 1, 0, kBig));
  }
  REQUIRE(WaitFor([&] { return engine->queued_writes() == 4; }, kLimit));
  rig.env.ResumeWrites();
  REQUIRE(small.Join().ok());
  REQUIRE(WaitFor([&] { return engine->srl_full(); }, kLimit));
  REQUIRE(engine->last_seq() == filled + 2);  // the small write and the first big one

  // The first of the batch is in the SRL: it will be applied and
  // replicated, so it is answered OK. The other two fail.
  engine->AbortSpaceWaits();
  int ok = 0;
  int eio = 0;
  for (auto& w : big) {
    Status st = w->Join();
    ok += st.ok();
    eio += st.code() == EIO;
  }
  CHECK(ok == 1);
  CHECK(eio == 2);

  // The abandoned writes left no hole in the seqs: once the RLINK acks,
  // writing goes on, and a restart replays the unbroken log.
  INFO(engine->health().ToString());
  REQUIRE(engine->health().ok());
  pin->progress(0).data_acked_seq = engine->last_seq();
  for (int i = 0; i < 4; ++i) {
    const auto data = TaggedData(tag++, kBig);
    REQUIRE(engine->Write(1, 0, data.data(), data.size(), false).ok());
    pin->progress(0).data_acked_seq = engine->last_seq();
  }
  REQUIRE(engine->Flush().ok());
  const uint64_t last = engine->last_seq();
  REQUIRE(CloseWithin(std::move(engine), kLimit, "Close()").ok());
  opened = rig.Open(FastCheckpoints(), pin);
  REQUIRE(opened.ok());
  CHECK((*opened)->last_seq() == last);
  RequireVerified(rig, last);
}

TEST_CASE("a checkpoint that frees SRL space while the append runs does not strand the writer",
          "[pressure]") {
  QuietLogs quiet;
  DurabilityRig rig;
  REQUIRE(rig.Create().ok());
  auto pin = Pin();
  std::atomic<PrimaryRvg*> running{nullptr};
  std::atomic<int> full_events{0};
  std::atomic<bool> emptied{true};
  PrimaryOptions options = FastCheckpoints();
  // Between the append that found the log full and the writer's wait, the
  // RLINK lets go and the flusher and the checkpointer empty the whole log.
  options.on_srl_full = [&] {
    ++full_events;
    PrimaryRvg* engine = running.load();
    pin->MarkStale(0, "test");
    if (!WaitFor([&] { return engine->srl_tail_seq() == engine->last_seq() + 1; }, kLimit)) {
      emptied = false;
    }
  };
  auto opened = rig.Open(options, pin);
  REQUIRE(opened.ok());
  std::unique_ptr<PrimaryRvg> engine = std::move(*opened);
  running = engine.get();

  // 4.5 MiB from one writer into a 4 MiB log pinned by the RLINK.
  Status written = RunWithin(
      [&] {
        for (int i = 0; i < 6; ++i) {
          const auto data = TaggedData(100 + i, 512 << 10);
          Status st = engine->Write(1, 0, data.data(), data.size(), false);
          if (!st.ok()) return st;
          const auto more = TaggedData(200 + i, 256 << 10);
          st = engine->Write(2, 0, more.data(), more.size(), false);
          if (!st.ok()) return st;
        }
        return Status::Ok();
      },
      kLimit, "a writer whose log was emptied behind its back");
  INFO(written.ToString());
  CHECK(written.ok());
  CHECK(full_events.load() == 1);
  CHECK(emptied.load());
  CHECK(engine->last_seq() == 12);
  REQUIRE(engine->Flush().ok());
  REQUIRE(CloseWithin(std::move(engine), kLimit, "Close()").ok());
}

TEST_CASE("a stalled image disk holds writers back instead of growing memory", "[pressure]") {
  QuietLogs quiet;
  DurabilityRig rig;
  const PrimaryOptions options = SmallBudget(256 << 10);
  std::unique_ptr<PrimaryRvg> engine = OpenWithStalledImage(rig, options);
  constexpr int kWrites = 48;  // 3 MiB in 64 KiB writes, into a 4 MiB log
  std::atomic<int> done{0};
  std::thread writer([&] {
    for (int i = 0; i < kWrites; ++i) {
      const auto data = TaggedData(1000 + i, 64 << 10);
      if (!engine->Write(1, (i % 8) * (64 << 10), data.data(), data.size(), false).ok()) return;
      ++done;
    }
  });
  // Held back: the records not yet on the images never pass the budget by
  // more than one batch, however long the disk stalls.
  const uint64_t bound = options.unapplied_budget_bytes + options.max_batch_bytes;
  CHECK_FALSE(WaitFor([&] { return engine->unapplied_bytes() > bound; },
                      std::chrono::seconds(1)));
  CHECK(done.load() < kWrites);

  rig.env.ResumeWrites();
  writer.join();
  CHECK(done.load() == kWrites);
  REQUIRE(engine->Flush().ok());
  const uint64_t last = engine->last_seq();
  REQUIRE(CloseWithin(std::move(engine), kLimit, "Close()").ok());
  auto opened = rig.Open(options);
  REQUIRE(opened.ok());
  RequireVerified(rig, last);
}

TEST_CASE("a stop fails the writes held back by a stalled image disk", "[pressure]") {
  QuietLogs quiet;
  DurabilityRig rig;
  const PrimaryOptions options = SmallBudget(128 << 10);
  std::unique_ptr<PrimaryRvg> engine = OpenWithStalledImage(rig, options);
  std::vector<std::unique_ptr<AsyncWrite>> writes;
  for (int i = 0; i < 6; ++i) {
    writes.push_back(std::make_unique<AsyncWrite>(engine.get(), 3000 + i, 1, 0, 64 << 10));
  }
  // Two writes fill the budget (their image writes hang); the other four
  // queue behind a leader that waits for the images.
  REQUIRE(WaitFor([&] { return engine->waiting_for_room() && engine->queued_writes() == 4; },
                  kLimit));
  engine->AbortSpaceWaits();
  int ok = 0;
  int failed = 0;
  for (auto& w : writes) {
    Status st = RunWithin([&] { return w->Join(); }, kLimit, "a write held back by the budget");
    ok += st.ok();
    failed += st.code() == EIO;
  }
  CHECK(ok == 2);
  CHECK(failed == 4);
  REQUIRE(engine->health().ok());

  rig.env.ResumeWrites();
  const auto data = TaggedData(4000, 4096);
  REQUIRE(engine->Write(2, 0, data.data(), data.size(), false).ok());
  REQUIRE(engine->Flush().ok());
  const uint64_t last = engine->last_seq();
  REQUIRE(CloseWithin(std::move(engine), kLimit, "Close()").ok());
  auto opened = rig.Open(options);
  REQUIRE(opened.ok());
  RequireVerified(rig, last);
}
