// The SRL over the FaultEnv: what recovery hands out is durable, and a
// failed fdatasync stays failed.
//
// Recovery after a kill, then a power cut: a process killed after appending
// leaves its records in the page cache, where the next start finds them and
// replays them onto the images (and a primary would send them on). If the
// power then fails before those records reached the disk, the log forgets
// them while the images keep them: a write that no history holds. Recovery
// must make what it replays durable first.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "core/crc32c.h"
#include "core/srl.h"
#include "core/srl_replay.h"
#include "core/volume_set.h"
#include "fault_env.h"

using namespace rvg;
using namespace rvg::testing;

namespace {

const std::vector<VolumeSpec> kSpecs = {{1, "data", "/h/data.img", 1 << 20}};
constexpr uint32_t kBlock = 4096;
constexpr uint64_t kRecords = 16;

// Record `seq` writes block `seq` with bytes equal to its seq.
WriteRecord MakeRecord(uint64_t seq) {
  auto data = std::make_shared<DataBuffer>(kBlock);
  std::memset(data->data(), static_cast<int>(seq), kBlock);
  const uint32_t crc = Crc32c(data->data(), kBlock);
  return WriteRecord{seq, 1, seq * kBlock, kBlock, crc, std::move(data)};
}

// Opens the SRL and the images and replays; returns the seqs replayed.
std::set<uint64_t> OpenAndReplay(FaultEnv& env) {
  auto srl = Srl::Open("/h/srl", "uuid-r", &env);
  REQUIRE(srl.ok());
  auto volumes = VolumeSet::Open(kSpecs, &env);
  REQUIRE(volumes.ok());
  std::set<uint64_t> seqs;
  auto replayed = ReplaySrl(srl->get(), volumes->get(), 0,
                            [&](const WriteRecord& r) { seqs.insert(r.seq); });
  INFO(replayed.status().ToString());
  REQUIRE(replayed.ok());
  return seqs;
}

}  // namespace

TEST_CASE("what recovery replays survives a power cut right after it") {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    CAPTURE(seed);
    FaultEnv env;
    REQUIRE(VolumeSet::CreateImages(kSpecs, &env).ok());
    REQUIRE(Srl::Create("/h/srl", Srl::kMinSize, "uuid-r", &env).ok());
    {
      // The writer appends and is killed before its fdatasync.
      auto srl = Srl::Open("/h/srl", "uuid-r", &env);
      REQUIRE(srl.ok());
      REQUIRE((*srl)->Recover([](const WriteRecord&) { return Status::Ok(); }).ok());
      std::vector<WriteRecord> records;
      for (uint64_t seq = 1; seq <= kRecords; ++seq) records.push_back(MakeRecord(seq));
      auto appended = (*srl)->Append(records.data(), records.size());
      REQUIRE(appended.ok());
      REQUIRE(*appended == kRecords);
    }
    const std::set<uint64_t> first = OpenAndReplay(env);
    REQUIRE(first.size() == kRecords);  // the page cache survived the kill

    env.PowerCut(seed, 0.0);  // nothing that was not synced survives
    const std::set<uint64_t> second = OpenAndReplay(env);
    CHECK(second == first);

    // The image is the replay of the recovered log, block for block.
    auto volumes = VolumeSet::Open(kSpecs, &env);
    REQUIRE(volumes.ok());
    std::vector<uint8_t> block(kBlock);
    for (uint64_t seq = 1; seq <= kRecords; ++seq) {
      CAPTURE(seq);
      REQUIRE((*volumes)->Read(1, seq * kBlock, block.data(), kBlock).ok());
      const uint8_t expected = second.count(seq) ? static_cast<uint8_t>(seq) : 0;
      CHECK(std::count(block.begin(), block.end(), expected) == kBlock);
    }
  }
}

TEST_CASE("a failed fdatasync of the SRL is never retried as if nothing happened") {
  FaultEnv env;
  REQUIRE(Srl::Create("/h/srl", Srl::kMinSize, "uuid-r", &env).ok());
  auto srl = Srl::Open("/h/srl", "uuid-r", &env);
  REQUIRE(srl.ok());
  REQUIRE((*srl)->Recover([](const WriteRecord&) { return Status::Ok(); }).ok());
  WriteRecord first = MakeRecord(1);
  REQUIRE((*srl)->Append(&first, 1).ok());

  // The fault strikes once: a retried fdatasync would succeed, over the
  // pages the failed one dropped.
  env.InjectError(Fault{FaultOp::kSync, "/h/srl", EIO, 0, false});
  CHECK((*srl)->Sync().code() == EIO);
  CHECK((*srl)->Sync().code() == EIO);
  WriteRecord second = MakeRecord(2);
  CHECK((*srl)->Append(&second, 1).status().code() == EIO);
  CHECK((*srl)->AdvanceTail(2, 1).code() == EIO);
}
