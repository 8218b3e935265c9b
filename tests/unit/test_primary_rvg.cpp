// PrimaryRvg: the write pipeline, against real files in a temp directory.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "core/primary_rvg.h"
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
  std::unique_ptr<PrimaryRvg> Open(std::vector<std::shared_ptr<RlinkProgress>> rlinks = {},
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
  auto pin = std::make_shared<RlinkProgress>("pin");
  auto engine = rig.Open({pin});
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
  engine = rig.Open({pin});  // crash recovery path: replays the SRL in seq order
  CHECK(engine->last_seq() == 800);
  REQUIRE(engine->Close().ok());
  engine.reset();
  CHECK(rig.Image(1) == alpha);
  CHECK(rig.Image(2) == beta);
}

TEST_CASE("a full SRL makes writers wait until an RLINK's ack frees space") {
  Rig rig(Srl::kMinSize);
  auto lagging = std::make_shared<RlinkProgress>("lagging");
  auto engine = rig.Open({lagging});
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
    RlinkProgress::Raise(lagging->data_acked_seq, engine->synced_seq());
    return done.load() == 40;
  }));
  writer.join();
  CHECK(rig.listener.calls > 0);
  // The tail never passes what the listener persisted.
  CHECK(engine->srl_tail_seq() <= rig.listener.persisted_data_acked + 1);
}

TEST_CASE("records come back from memory and, past the budget, from the SRL") {
  Rig rig;
  auto pin = std::make_shared<RlinkProgress>("pin");
  PrimaryOptions options;
  options.inflight_budget_bytes = 64 * 1024;
  auto engine = rig.Open({pin}, options);
  for (int i = 0; i < 50; ++i) {
    auto data = Pattern(100 + i, 8192);
    REQUIRE(engine->Write(2, i * 8192, data.data(), data.size(), false).ok());
  }
  for (uint64_t seq : {1ull, 25ull, 50ull}) {
    auto rec = engine->GetRecord(seq);
    REQUIRE(rec.ok());
    CHECK(rec->seq == seq);
    auto expect = Pattern(100 + seq - 1, 8192);
    CHECK(std::equal(expect.begin(), expect.end(), rec->data->data()));
  }
  CHECK(engine->BytesAfter(40) == 10 * 8192);
  CHECK(engine->BytesAfter(50) == 0);
}
