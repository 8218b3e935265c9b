// PrimaryRvg: the write pipeline, against real files in a temp directory.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "core/primary_rvg.h"
#include "rlink_fixture.h"
#include "engine_fixture.h"

using namespace rvg;
using namespace rvg::testing;

namespace {

class RecordingListener : public CheckpointListener {
 public:
  Status PersistRlinkProgress(const std::vector<RlinkSnapshot>& rlinks) override {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& r : rlinks) persisted_data_acked = r.data_acked_seq;
    ++calls;
    return Status::Ok();
  }
  std::mutex mu;
  uint64_t persisted_data_acked = 0;
  int calls = 0;
};

struct Rig {
  explicit Rig(uint64_t srl_size = 32 << 20) {
    specs = TwoVolumes(dir.path());
    srl_path = dir.path() + "/srl";
    REQUIRE(VolumeSet::CreateImages(specs).ok());
    REQUIRE(Srl::Create(srl_path, srl_size, "uuid-1").ok());
  }
  std::unique_ptr<PrimaryRvg> Open(std::shared_ptr<RlinkSet> rlinks = nullptr,
                                   PrimaryOptions options = {}) {
    auto volumes = VolumeSet::Open(specs);
    REQUIRE(volumes.ok());
    auto srl = Srl::Open(srl_path, "uuid-1");
    REQUIRE(srl.ok());
    options.checkpoint_interval = std::chrono::milliseconds(20);
    auto engine = PrimaryRvg::Open(std::move(*volumes), std::move(*srl), std::move(rlinks),
                                   &listener, options);
    REQUIRE(engine.ok());
    return std::move(*engine);
  }
  std::vector<uint8_t> Image(uint32_t volume) {
    auto set = VolumeSet::Open(specs);
    REQUIRE(set.ok());
    return ReadAll(**set, volume);
  }
  void ZeroImages() {
    for (const auto& s : specs) {
      std::filesystem::resize_file(s.path, 0);
      std::filesystem::resize_file(s.path, s.size);
    }
  }

  TempDir dir;
  std::vector<VolumeSpec> specs;
  std::string srl_path;
  RecordingListener listener;
};

}  // namespace

TEST_CASE("writes are visible at once and land in the image") {
  Rig rig;
  auto engine = rig.Open();
  auto data = Pattern(1, 10000);
  REQUIRE(engine->Write(1, 4096 + 7, data.data(), data.size(), false).ok());
  std::vector<uint8_t> back(data.size());
  REQUIRE(engine->Read(1, 4096 + 7, back.data(), back.size()).ok());
  CHECK(back == data);
  CHECK(engine->last_seq() == 1);
  REQUIRE(engine->Flush().ok());
  CHECK(engine->synced_seq() >= 1);
  REQUIRE(engine->Close().ok());
  auto image = rig.Image(1);
  CHECK(std::equal(data.begin(), data.end(), image.begin() + 4096 + 7));
}

TEST_CASE("writes outside a volume are refused and consume no seq") {
  Rig rig;
  auto engine = rig.Open();
  auto data = Pattern(2, 4096);
  Status past = engine->Write(2, (4 << 20) - 100, data.data(), data.size(), false);
  CHECK(past.code() == ENOSPC);
  CHECK(engine->Write(9, 0, data.data(), data.size(), false).code() == EINVAL);
  CHECK(engine->last_seq() == 0);
}

TEST_CASE("strict writes are synced in the SRL before they return") {
  Rig rig;
  auto engine = rig.Open();
  auto data = Pattern(3, 512);
  for (int i = 0; i < 20; ++i) {
    REQUIRE(engine->Write(1, i * 512, data.data(), data.size(), true).ok());
    CHECK(engine->synced_seq() >= static_cast<uint64_t>(i + 1));
  }
}

TEST_CASE("concurrent overlapping writers: the image order is the SRL order") {
  Rig rig;
  // An RLINK that never acks pins every record in the SRL, so the replay
  // below sees the whole history.
  auto pin = OneRlink("pin");
  auto engine = rig.Open(pin);
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 200; ++i) {
        auto data = Pattern(t * 1000 + i, 512 * (1 + rng() % 16));
        uint32_t vol = 1 + rng() % 2;
        uint64_t off = (rng() % 64) * 512;  // a small area: lots of overlap
        REQUIRE(engine->Write(vol, off, data.data(), data.size(), false).ok());
      }
    });
  }
  for (auto& w : writers) w.join();
  CHECK(engine->last_seq() == 800);
  REQUIRE(engine->Close().ok());
  engine.reset();
  auto alpha = rig.Image(1), beta = rig.Image(2);

  rig.ZeroImages();
  engine = rig.Open(pin);  // crash recovery path: replays the SRL in seq order
  CHECK(engine->last_seq() == 800);
  REQUIRE(engine->Close().ok());
  engine.reset();
  CHECK(rig.Image(1) == alpha);
  CHECK(rig.Image(2) == beta);
}

TEST_CASE("a full SRL makes writers wait until an RLINK's ack frees space") {
  Rig rig(Srl::kMinSize);
  auto lagging = OneRlink("lagging");
  auto engine = rig.Open(lagging);
  auto data = Pattern(4, 256 * 1024);
  std::atomic<int> done{0};
  std::thread writer([&] {
    for (int i = 0; i < 40; ++i) {  // 10 MiB through a 4 MiB log
      REQUIRE(engine->Write(1, (i % 16) * data.size(), data.data(), data.size(), false).ok());
      ++done;
    }
  });
  // With nobody acking, the writer fills the log and stops there: the log
  // holds at most capacity / record size writes.
  const uint64_t record = Srl::RecordBytes(static_cast<uint32_t>(data.size()));
  REQUIRE(WaitFor([&] { return engine->srl_used_bytes() + record > engine->srl_capacity_bytes(); }));
  CHECK(static_cast<uint64_t>(done.load()) <= engine->srl_capacity_bytes() / record);
  // Acknowledge as the secondary would, until the writer is through.
  REQUIRE(WaitFor([&] {
    lagging->Acked(0, engine->synced_seq(), engine->synced_seq());
    return done.load() == 40;
  }));
  writer.join();
  CHECK(rig.listener.calls > 0);
  // The tail never passes what the listener persisted.
  CHECK(engine->srl_tail_seq() <= rig.listener.persisted_data_acked + 1);
}

TEST_CASE("records come back from memory and, past the budget, from the SRL") {
  Rig rig;
  auto pin = OneRlink("pin");
  PrimaryOptions options;
  options.inflight_budget_bytes = 64 * 1024;
  auto engine = rig.Open(pin, options);
  for (int i = 0; i < 50; ++i) {
    auto data = Pattern(100 + i, 8192);
    REQUIRE(engine->Write(2, i * 8192, data.data(), data.size(), false).ok());
  }
  // The budget holds the newest 8 records (64 KiB of 8 KiB writes); the
  // source is what status shows as an RLINK's sending_from.
  using Source = PrimaryRvg::RecordSource;
  for (auto [seq, from] : {std::pair{1ull, Source::kSrl}, std::pair{25ull, Source::kSrl},
                           std::pair{42ull, Source::kSrl}, std::pair{43ull, Source::kMemory},
                           std::pair{50ull, Source::kMemory}}) {
    Source source = from == Source::kSrl ? Source::kMemory : Source::kSrl;
    auto rec = engine->GetRecord(seq, &source);
    REQUIRE(rec.ok());
    CHECK(rec->seq == seq);
    CHECK(source == from);
    auto expect = Pattern(100 + seq - 1, 8192);
    CHECK(std::equal(expect.begin(), expect.end(), rec->data->data()));
  }
  CHECK(engine->BytesAfter(40) == 10 * 8192);
  CHECK(engine->BytesAfter(50) == 0);
}

TEST_CASE("the backlog after an ack: writes, data and SRL bytes, and the oldest one's age") {
  Rig rig;
  auto pin = OneRlink("pin");
  auto engine = rig.Open(pin);
  using std::chrono::seconds;
  const auto before = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    auto data = Pattern(i, 1000 * (i + 1));
    REQUIRE(engine->Write(1, 0, data.data(), data.size(), false).ok());
  }
  const auto after = std::chrono::steady_clock::now();
  // Asked a minute from now, the oldest write not acked is a minute old
  // (give or take the time the writes took), whichever ack it is asked for.
  for (uint64_t acked : {0ull, 4ull, 9ull}) {
    const PrimaryRvg::Backlog b = engine->BacklogAfter(acked, after + seconds(60));
    uint64_t data = 0;
    uint64_t srl = 0;
    for (uint64_t seq = acked + 1; seq <= 10; ++seq) {
      data += 1000 * seq;
      srl += Srl::RecordBytes(static_cast<uint32_t>(1000 * seq));
    }
    CHECK(b.writes == 10 - acked);
    CHECK(b.data_bytes == data);
    CHECK(b.data_bytes == engine->BytesAfter(acked));
    CHECK(b.srl_bytes == srl);
    CHECK(b.seconds >= 60.0);
    CHECK(b.seconds <= 60.0 + std::chrono::duration<double>(after - before).count());
  }
  // Nothing behind: nothing old.
  const PrimaryRvg::Backlog none = engine->BacklogAfter(10, after + seconds(60));
  CHECK(none.writes == 0);
  CHECK(none.data_bytes == 0);
  CHECK(none.srl_bytes == 0);
  CHECK(none.seconds == 0.0);
}

// Runs `fn` on a thread and reports whether it finished within `limit`. A
// hang is a failure of the test, not of the test runner: on timeout the
// process ends at once with a message (the stuck thread cannot be joined).
template <typename Fn>
void RequireFinishesWithin(std::chrono::seconds limit, const char* what, Fn fn) {
  std::atomic<bool> finished{false};
  std::thread runner([&] {
    fn();
    finished = true;
  });
  if (!WaitFor([&] { return finished.load(); }, limit)) {
    FAIL_CHECK(what << " did not finish within " << limit.count() << " s (hang)");
    std::fflush(nullptr);
    std::_Exit(1);
  }
  runner.join();
}

TEST_CASE("a group commit larger than the free SRL space completes") {
  // Six writers of 1 MiB each: one leader's batch (up to 8 MiB) is larger
  // than the whole 4 MiB log. The leader must publish what fits and let the
  // checkpointer free it, not wait on its own records.
  Rig rig(Srl::kMinSize);
  auto engine = rig.Open();
  RequireFinishesWithin(std::chrono::seconds(60), "six 1 MiB writers into a 4 MiB SRL", [&] {
    std::vector<std::thread> writers;
    for (int t = 0; t < 6; ++t) {
      writers.emplace_back([&, t] {
        auto data = Pattern(700 + t, 1 << 20);
        for (int i = 0; i < 8; ++i) {
          Status st = engine->Write(1, (t % 8) * (1 << 20), data.data(), data.size(), false);
          CHECK(st.ok());
        }
      });
    }
    for (auto& w : writers) w.join();
  });
  CHECK(engine->last_seq() == 48);
  REQUIRE(engine->Close().ok());
}

TEST_CASE("BeginClose ends a wait for SRL space; the blocked write fails and Close returns") {
  Rig rig(Srl::kMinSize);
  auto lagging = OneRlink("lagging");  // never acks: pins the log
  auto engine = rig.Open(lagging);
  auto data = Pattern(5, 512 * 1024);
  std::atomic<int> failed{0};
  std::atomic<int> done{0};
  std::thread writer([&] {
    for (int i = 0; i < 20; ++i) {  // 10 MiB into 4 MiB: blocks on the full log
      if (!engine->Write(1, 0, data.data(), data.size(), false).ok()) {
        ++failed;
        break;
      }
      ++done;
    }
  });
  REQUIRE(WaitFor([&] { return engine->srl_full(); }));
  int before = done.load();
  CHECK(before < 20);
  RequireFinishesWithin(std::chrono::seconds(10), "BeginClose + Close on a full SRL", [&] {
    engine->BeginClose();
    writer.join();
    (void)engine->Close();
  });
  CHECK(failed.load() == 1);
  // What was acknowledged survived: the SRL replays every answered write.
  engine.reset();
  engine = rig.Open(lagging);
  CHECK(engine->last_seq() >= static_cast<uint64_t>(before));
}

TEST_CASE("reads see writes that are in the SRL but not yet on the image") {
  Rig rig;
  // A strict write is synced; a later write may still sit in memory when
  // the read comes. Either way the read returns the newest bytes, also for
  // ranges that only partly overlap several writes.
  auto engine = rig.Open();
  std::vector<uint8_t> model(64 * 1024, 0);
  std::mt19937 rng(42);
  for (int i = 0; i < 300; ++i) {
    uint64_t off = rng() % (60 * 1024);
    auto data = Pattern(900 + i, 1 + rng() % 4096);
    REQUIRE(engine->Write(1, off, data.data(), data.size(), i % 7 == 0).ok());
    std::copy(data.begin(), data.end(), model.begin() + off);
    uint64_t roff = rng() % (32 * 1024);
    std::vector<uint8_t> back(1 + rng() % (32 * 1024));
    REQUIRE(engine->Read(1, roff, back.data(), back.size()).ok());
    REQUIRE(std::equal(back.begin(), back.end(), model.begin() + roff));
  }
}

TEST_CASE("a fenced engine refuses writes with the fence's error until every cause is lifted") {
  using Cause = PrimaryRvg::FenceCause;
  Rig rig;
  auto engine = rig.Open();
  auto data = Pattern(3, 4096);
  REQUIRE(engine->Write(1, 0, data.data(), data.size(), false).ok());
  engine->Fence(Cause::kDataCorrupt, Status::Error("waiting for a secondary", EROFS));
  engine->Fence(Cause::kReplaced, Status::Error("host b is primary of a newer generation", EROFS));
  CHECK(engine->fenced());
  Status st = engine->Write(1, 8192, data.data(), data.size(), false);
  CHECK(st.code() == EROFS);
  CHECK(st.message() == "host b is primary of a newer generation");
  CHECK(engine->last_seq() == 1);  // nothing was sequenced
  std::vector<uint8_t> back(data.size());
  REQUIRE(engine->Read(1, 0, back.data(), back.size()).ok());  // reads still work
  CHECK(back == data);
  // A secondary's answer ends the data_corrupt hold, not the replacement.
  engine->Unfence(Cause::kDataCorrupt);
  CHECK(engine->fenced());
  CHECK_FALSE(engine->fenced_for(Cause::kDataCorrupt));
  CHECK(engine->Write(1, 8192, data.data(), data.size(), false).message() ==
        "host b is primary of a newer generation");
  // A resolve that does not go ahead lifts its own fence only.
  engine->Fence(Cause::kResolving, Status::Error("resolve --discard-local", EROFS));
  engine->Unfence(Cause::kResolving);
  CHECK(engine->fenced_for(Cause::kReplaced));
  engine->Unfence(Cause::kReplaced);
  CHECK_FALSE(engine->fenced());
  CHECK(engine->Write(1, 8192, data.data(), data.size(), false).ok());
  CHECK(engine->last_seq() == 2);
}

// Records what the engine asked, and answers as told.
class ScriptedRotator : public GenerationRotator {
 public:
  bool due = false;
  Status answer;
  std::vector<uint64_t> rotated_at;

  bool RotationDue() override { return due; }
  Status Rotate(uint64_t start_seq) override {
    rotated_at.push_back(start_seq);
    if (answer.ok()) due = false;
    return answer;
  }
};

TEST_CASE("a due rotation begins the generation at the next seq, before that seq is handed out") {
  Rig rig;
  ScriptedRotator rotator;
  PrimaryOptions options;
  options.rotator = &rotator;
  std::vector<uint64_t> sequenced;
  options.on_sequenced = [&](const WriteRecord& r) { sequenced.push_back(r.seq); };
  auto engine = rig.Open(nullptr, options);
  auto data = Pattern(4, 4096);
  REQUIRE(engine->Write(1, 0, data.data(), data.size(), false).ok());
  CHECK(rotator.rotated_at.empty());

  // A failed rotation fails the write and hands out no seq; the engine
  // stays healthy and the next write asks again.
  rotator.due = true;
  rotator.answer = Status::Error("state.db is read-only", EROFS);
  Status st = engine->Write(1, 4096, data.data(), data.size(), false);
  CHECK(st.code() == EIO);
  CHECK(st.message().find("state.db is read-only") != std::string::npos);
  CHECK(engine->last_seq() == 1);
  CHECK(engine->health().ok());
  CHECK(rotator.rotated_at == std::vector<uint64_t>{2});

  rotator.answer = Status::Ok();
  REQUIRE(engine->Write(1, 4096, data.data(), data.size(), false).ok());
  CHECK(rotator.rotated_at == std::vector<uint64_t>{2, 2});
  CHECK(sequenced == std::vector<uint64_t>{1, 2});
  REQUIRE(engine->Write(1, 8192, data.data(), data.size(), false).ok());
  CHECK(rotator.rotated_at.size() == 2);  // not due any more
  CHECK(engine->last_seq() == 3);
}

TEST_CASE("ExtentsSince lists what was written from a seq on, or says the SRL lost it") {
  Rig rig;
  auto engine = rig.Open();
  auto data = Pattern(4, 1000);
  for (uint64_t i = 0; i < 5; ++i) {
    REQUIRE(engine->Write(static_cast<uint32_t>(1 + i % 2), i * 4096, data.data(), data.size(),
                          false)
                .ok());
  }
  auto extents = engine->ExtentsSince(3);
  REQUIRE(extents.ok());
  REQUIRE(extents->size() == 3);
  CHECK((*extents)[0].volume == 1);
  CHECK((*extents)[0].offset == 2 * 4096);
  CHECK((*extents)[0].length == 1000);
  CHECK((*extents)[2].offset == 4 * 4096);
  CHECK(engine->ExtentsSince(6)->empty());
  // Once checkpoints release the records, the SRL cannot say any more.
  REQUIRE(engine->Flush().ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (engine->srl_tail_seq() <= 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(engine->srl_tail_seq() > 3);
  CHECK(engine->ExtentsSince(3).status().code() == ENOENT);
}
