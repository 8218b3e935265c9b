// VolumeSet's system calls: adjacent records coalesced into one pwritev in
// seq order, and SyncAll() syncing only the images written since their last
// good sync. Counted through a CountingEnv over real files (or a FaultEnv
// where a sync must fail).
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <vector>

#include "core/region_hash.h"
#include "core/volume_set.h"
#include "counting_env.h"
#include "engine_fixture.h"
#include "fault_env.h"

using namespace rvg;
using namespace rvg::testing;

namespace {

WriteRecord Record(uint64_t seq, uint32_t volume, uint64_t offset, size_t length) {
  std::vector<uint8_t> bytes = Pattern(seq, length);
  auto data = std::make_shared<DataBuffer>(length);
  std::memcpy(data->data(), bytes.data(), length);
  return WriteRecord{seq, volume, offset, static_cast<uint32_t>(length), 0, std::move(data)};
}

// Two images opened through a CountingEnv (over `base`).
struct Images {
  explicit Images(FileEnv* base = FileEnv::Posix(), std::string root = "")
      : env(base), specs(TwoVolumes(root.empty() ? dir.path() : root)) {
    REQUIRE(VolumeSet::CreateImages(specs, base).ok());
    auto opened = VolumeSet::Open(specs, &env);
    REQUIRE(opened.ok());
    set = std::move(*opened);
  }
  // What the image of `volume` must hold after `records` in order.
  std::vector<uint8_t> Replay(uint32_t volume, const std::vector<WriteRecord>& records) const {
    std::vector<uint8_t> image(set->Find(volume)->size, 0);
    for (const WriteRecord& r : records) {
      if (r.volume == volume) std::memcpy(image.data() + r.offset, r.data->data(), r.length);
    }
    return image;
  }

  TempDir dir;
  CountingEnv env;
  std::vector<VolumeSpec> specs;
  std::unique_ptr<VolumeSet> set;
};

}  // namespace

TEST_CASE("WriteRecords writes each run of adjacent records in one pwritev, in seq order") {
  Images images;
  const std::vector<WriteRecord> records = {
      Record(1, 1, 0, 4096), Record(2, 1, 4096, 100), Record(3, 1, 4196, 4096),  // one run
      Record(4, 1, 0, 10),                          // overwrites seq 1's start: a run of its own
      Record(5, 2, 10, 512), Record(6, 2, 522, 512),  // another volume: a run
      Record(7, 1, 10, 512),                        // volume 1 again, though 10 follows seq 4
      Record(8, 1, 8192, 100), Record(9, 1, 8192, 100),  // the same range twice: two writes
  };
  size_t written = 0;
  REQUIRE(images.set->WriteRecords(records.data(), records.size(), &written).ok());
  CHECK(written == records.size());
  CHECK(images.env.Of("alpha").writes == std::vector<size_t>{3, 1, 1, 1, 1});
  CHECK(images.env.Of("beta").writes == std::vector<size_t>{2});
  // Nothing reordered: later records win where they overlap earlier ones.
  CHECK(ReadAll(*images.set, 1) == images.Replay(1, records));
  CHECK(ReadAll(*images.set, 2) == images.Replay(2, records));
}

TEST_CASE("a record whose buffer views another's bytes is written from them, uncopied") {
  Images images;
  // What the secondary's receiver does with a received frame: one object
  // holds the bytes and the buffer viewing them; the record aliases it.
  struct Frame {
    std::vector<uint8_t> bytes = Pattern(9, 4096);
    DataBuffer buffer{bytes.data(), bytes.size()};
  };
  auto frame = std::make_shared<Frame>();
  const WriteRecord r{1, 1, 4096, 4096, 0, DataRef(frame, &frame->buffer)};
  CHECK(r.data->data() == frame->bytes.data());
  CHECK(r.data->size() == 4096);
  std::weak_ptr<Frame> alive = frame;
  frame.reset();
  CHECK_FALSE(alive.expired());  // the record keeps the bytes' owner
  size_t written = 0;
  REQUIRE(images.set->WriteRecords(&r, 1, &written).ok());
  CHECK(ReadAll(*images.set, 1) == images.Replay(1, {r}));
}

TEST_CASE("WriteRecords splits a run at kMaxRunRecords iovecs") {
  Images images;
  std::vector<WriteRecord> records;
  const size_t n = VolumeSet::kMaxRunRecords + 6;
  for (size_t i = 0; i < n; ++i) records.push_back(Record(i + 1, 1, i * 512, 512));
  size_t written = 0;
  REQUIRE(images.set->WriteRecords(records.data(), records.size(), &written).ok());
  CHECK(written == n);
  CHECK(images.env.Of("alpha").writes == std::vector<size_t>{VolumeSet::kMaxRunRecords, 6});
  CHECK(ReadAll(*images.set, 1) == images.Replay(1, records));
}

TEST_CASE("WriteRecords stops at a record outside its volume, after writing the ones before") {
  Images images;
  const uint64_t size = images.specs[1].size;
  const std::vector<WriteRecord> records = {Record(1, 2, size - 1024, 512),
                                            Record(2, 2, size - 512, 512),
                                            Record(3, 2, size, 512), Record(4, 2, 0, 512)};
  size_t written = 0;
  Status st = images.set->WriteRecords(records.data(), records.size(), &written);
  REQUIRE_FALSE(st.ok());
  CHECK(st.code() == ENOSPC);
  CHECK(written == 2);
  INFO(st.message());
  CHECK(st.message().find("seq 3") != std::string::npos);
  CHECK(images.env.Of("beta").writes == std::vector<size_t>{2});
  CHECK(ReadAll(*images.set, 2) == images.Replay(2, {records[0], records[1]}));
}

TEST_CASE("SyncAll syncs only the images written since their last sync") {
  Images images;
  // Dirty from Open(): a new process syncs what an old one may have left.
  REQUIRE(images.set->SyncAll().ok());
  CHECK(images.env.Syncs("alpha") == 1);
  CHECK(images.env.Syncs("beta") == 1);
  REQUIRE(images.set->SyncAll().ok());
  CHECK(images.env.Syncs("alpha") == 1);
  CHECK(images.env.Syncs("beta") == 1);

  const auto data = Pattern(1, 4096);
  REQUIRE(images.set->Write(2, 0, data.data(), data.size()).ok());
  REQUIRE(images.set->SyncAll().ok());
  CHECK(images.env.Syncs("alpha") == 1);
  CHECK(images.env.Syncs("beta") == 2);
  const WriteRecord r = Record(2, 1, 0, 512);
  size_t written = 0;
  REQUIRE(images.set->WriteRecords(&r, 1, &written).ok());
  REQUIRE(images.set->SyncAll().ok());
  REQUIRE(images.set->SyncAll().ok());
  CHECK(images.env.Syncs("alpha") == 2);
  CHECK(images.env.Syncs("beta") == 2);
}

TEST_CASE("a write that lands while its image is being synced leaves the image dirty") {
  Images images;
  REQUIRE(images.set->SyncAll().ok());
  const auto data = Pattern(2, 512);
  bool wrote_during_sync = false;
  images.env.during_sync = [&](const std::string& path) {
    if (wrote_during_sync || path.find("alpha") == std::string::npos) return;
    wrote_during_sync = true;
    REQUIRE(images.set->Write(1, 4096, data.data(), data.size()).ok());
  };
  REQUIRE(images.set->Write(1, 0, data.data(), data.size()).ok());
  REQUIRE(images.set->SyncAll().ok());
  REQUIRE(wrote_during_sync);
  CHECK(images.env.Syncs("alpha") == 2);
  // That sync may have missed the write: the next one must not skip it.
  REQUIRE(images.set->SyncAll().ok());
  CHECK(images.env.Syncs("alpha") == 3);
  REQUIRE(images.set->SyncAll().ok());
  CHECK(images.env.Syncs("alpha") == 3);
}

TEST_CASE("an image whose sync failed stays failed; the other images still sync") {
  FaultEnv fault;
  Images images(&fault, "/rvg");
  REQUIRE(images.set->SyncAll().ok());
  const auto data = Pattern(3, 512);
  REQUIRE(images.set->Write(1, 0, data.data(), data.size()).ok());
  REQUIRE(images.set->Write(2, 0, data.data(), data.size()).ok());
  fault.InjectError({FaultOp::kSync, "alpha", EIO, 0, false});
  CHECK(images.set->SyncAll().code() == EIO);
  CHECK(images.env.Syncs("alpha") == 2);
  CHECK(images.env.Syncs("beta") == 2);
  // The failed sync may have dropped the write (file_env.h): a retry that
  // "succeeded" would vouch for lost data, so the failure is final
  // (FailStopFile) and the disk is not even asked again.
  CHECK(images.set->SyncAll().code() == EIO);
  CHECK(images.env.Syncs("alpha") == 2);
}

TEST_CASE("IsHole: a range the image never wrote is a hole, a written one is data") {
  Images images;
  const std::vector<WriteRecord> records = {Record(1, 1, 0, 4096), Record(2, 1, 1 << 20, 4096)};
  size_t written = 0;
  REQUIRE(images.set->WriteRecords(records.data(), records.size(), &written).ok());
  CHECK_FALSE(images.set->IsHole(1, 0, 4096));          // written (still in the page cache)
  CHECK(images.set->IsHole(1, 4096, (1 << 20) - 4096));  // between the two writes
  CHECK_FALSE(images.set->IsHole(1, 4096, 1 << 20));     // reaches the second write
  CHECK(images.set->IsHole(1, 2 << 20, 6 << 20));        // the rest of the volume
  CHECK(images.set->IsHole(2, 0, 4 << 20));              // a volume never written
}

TEST_CASE("ZeroHash is the hash of that many zero bytes") {
  for (size_t length : {size_t{1}, size_t{4096}, size_t{65536}, size_t{1} << 20,
                        (size_t{1} << 20) + 5}) {
    std::vector<uint8_t> zeros(length, 0);
    CHECK(ZeroHash(length) == HashRegion(zeros.data(), length));
    CHECK(IsAllZero(zeros.data(), length));
    zeros[length - 1] = 1;
    CHECK_FALSE(IsAllZero(zeros.data(), length));
    CHECK_FALSE(ZeroHash(length) == HashRegion(zeros.data(), length));
  }
  // Its per-thread memo of the last length answers only for that length.
  const std::vector<uint8_t> small(4096, 0), large(size_t{1} << 20, 0);
  for (int round = 0; round < 2; ++round) {
    CHECK(ZeroHash(small.size()) == HashRegion(small.data(), small.size()));
    CHECK(ZeroHash(small.size()) == HashRegion(small.data(), small.size()));
    CHECK(ZeroHash(large.size()) == HashRegion(large.data(), large.size()));
  }
}
