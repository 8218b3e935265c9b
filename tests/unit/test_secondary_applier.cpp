// SecondaryApplier: out-of-order arrival, in-order application.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "core/crc32c.h"
#include "core/secondary_applier.h"
#include "engine_fixture.h"

using namespace rvg;
using namespace rvg::testing;

namespace {

class MemoryStore : public AppliedSeqStore {
 public:
  Status SaveAppliedSeq(uint64_t seq) override {
    saved = seq;
    return Status::Ok();
  }
  std::atomic<uint64_t> saved{0};
};

WriteRecord MakeRecord(uint64_t seq, uint32_t volume, uint64_t offset, size_t length) {
  auto bytes = Pattern(seq, length);
  auto buffer = std::make_shared<DataBuffer>(length);
  std::memcpy(buffer->data(), bytes.data(), length);
  WriteRecord r;
  r.seq = seq;
  r.volume = volume;
  r.offset = offset;
  r.length = static_cast<uint32_t>(length);
  r.data_crc = Crc32c(bytes.data(), length);
  r.data = buffer;
  return r;
}

}  // namespace

TEST_CASE("shuffled and duplicated arrivals are applied once each, in seq order") {
  TempDir dir;
  auto specs = TwoVolumes(dir.path());
  REQUIRE(VolumeSet::CreateImages(specs).ok());
  auto volumes = VolumeSet::Open(specs);
  REQUIRE(volumes.ok());

  // Overlapping writes: only in-order application gives the expected image.
  std::mt19937 rng(7);
  std::vector<WriteRecord> records;
  std::vector<uint8_t> expect_alpha(specs[0].size, 0), expect_beta(specs[1].size, 0);
  for (uint64_t seq = 1; seq <= 500; ++seq) {
    uint32_t vol = 1 + rng() % 2;
    uint64_t off = (rng() % 32) * 512;
    size_t len = 512 * (1 + rng() % 8);
    records.push_back(MakeRecord(seq, vol, off, len));
    auto& img = vol == 1 ? expect_alpha : expect_beta;
    std::memcpy(img.data() + off, records.back().data->data(), len);
  }
  auto arrivals = records;
  arrivals.insert(arrivals.end(), records.begin(), records.begin() + 100);  // resends
  std::shuffle(arrivals.begin(), arrivals.end(), rng);

  MemoryStore store;
  std::atomic<int> notified{0};
  SecondaryApplier applier(volumes->get(), &store, 0, [&] { ++notified; });
  applier.Start();
  int duplicates = 0;
  for (auto& r : arrivals) {
    if (applier.Offer(r) == ReorderBuffer::Offer::kDuplicate) ++duplicates;
  }
  CHECK(duplicates == 100);
  CHECK(applier.received_seq() == 500);
  REQUIRE(WaitFor([&] { return applier.applied_seq() >= 500; }));
  CHECK(applier.applied_seq() == 500);
  CHECK(store.saved == 500);
  CHECK(notified > 0);
  REQUIRE(applier.Stop().ok());
  CHECK(ReadAll(**volumes, 1) == expect_alpha);
  CHECK(ReadAll(**volumes, 2) == expect_beta);
}

TEST_CASE("nothing past a gap is applied") {
  TempDir dir;
  auto specs = TwoVolumes(dir.path());
  REQUIRE(VolumeSet::CreateImages(specs).ok());
  auto volumes = VolumeSet::Open(specs);
  REQUIRE(volumes.ok());
  MemoryStore store;
  SecondaryApplier applier(volumes->get(), &store, 10, nullptr);
  applier.Start();
  applier.Offer(MakeRecord(11, 1, 0, 512));
  applier.Offer(MakeRecord(13, 1, 4096, 512));  // 12 is missing
  REQUIRE(WaitFor([&] { return applier.applied_seq() >= 11; }));
  CHECK(applier.applied_seq() == 11);
  CHECK(applier.received_seq() == 11);
  auto gap = applier.FirstGap();
  REQUIRE(gap.has_value());
  CHECK(gap->first == 12);
  CHECK(gap->second == 12);
  REQUIRE(applier.Stop().ok());
  auto image = ReadAll(**volumes, 1);
  CHECK(std::all_of(image.begin() + 4096, image.begin() + 4096 + 512, [](uint8_t b) { return b == 0; }));
}
