// The failback bitmap (core/failback_bitmap.h): ranges written past the
// fork survive the trip through persisted chunks as ranges that cover
// them, region-aligned and joined, and bad ranges or chunks are errors.
#include <catch2/catch.hpp>

#include "core/failback_bitmap.h"
#include "core/source_report.h"
#include "secondary_fixture.h"

using namespace rvg;
using Catch::Matchers::Contains;
using rvg::testing::MakeRecord;
using rvg::testing::TempDir;

namespace {

constexpr uint64_t kRs = 4096;

bool Covers(const std::vector<VolumeExtent>& cover, const VolumeExtent& e) {
  for (const VolumeExtent& c : cover) {
    if (c.volume == e.volume && c.offset <= e.offset && e.offset + e.length <= c.offset + c.length) {
      return true;
    }
  }
  return false;
}

TEST_CASE("failback ranges round-trip through chunks, region-aligned and joined", "[failback]") {
  const std::vector<VolumeSpec> volumes = {{1, "a", "/a", 64 * kRs}, {7, "b", "/b", 10 * kRs + 100}};
  const std::vector<VolumeExtent> written = {
      {1, 100, 10},             // inside region 0
      {1, kRs - 1, 2},          // regions 0 and 1
      {1, 5 * kRs, kRs},        // region 5 exactly
      {7, 10 * kRs, 100},       // the short last region of b
      {7, 3 * kRs + 7, 1}};     // region 3 of b
  Result<std::vector<BitmapChunk>> chunks = FailbackChunks(volumes, kRs, written);
  REQUIRE(chunks.ok());
  Result<std::vector<VolumeExtent>> back = FailbackExtents(volumes, kRs, *chunks);
  REQUIRE(back.ok());
  for (const VolumeExtent& e : written) CHECK(Covers(*back, e));
  REQUIRE(back->size() == 4);
  CHECK((*back)[0].volume == 1);
  CHECK((*back)[0].offset == 0);
  CHECK((*back)[0].length == 2 * kRs);  // regions 0 and 1 joined
  CHECK((*back)[1].offset == 5 * kRs);
  CHECK((*back)[2].volume == 7);
  CHECK((*back)[2].offset == 3 * kRs);
  CHECK((*back)[3].offset == 10 * kRs);
  CHECK((*back)[3].length == 100);

  CHECK(FailbackExtents(volumes, kRs, {})->empty());
  const std::vector<VolumeExtent> whole = WholeVolumes(volumes);
  REQUIRE(whole.size() == 2);
  CHECK(whole[1].length == 10 * kRs + 100);
}

TEST_CASE("failback ranges outside the volumes, and chunks that do not fit, are errors",
          "[failback]") {
  const std::vector<VolumeSpec> volumes = {{1, "a", "/a", 8 * kRs}};
  Result<std::vector<BitmapChunk>> bad = FailbackChunks(volumes, kRs, {{1, 8 * kRs - 1, 2}});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Contains("outside the volumes"));
  CHECK_FALSE(FailbackChunks(volumes, kRs, {{2, 0, 1}}).ok());
  Result<std::vector<VolumeExtent>> wrong =
      FailbackExtents(volumes, kRs, {BitmapChunk{9, 0, {0x01}}});
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(wrong.status().message(), Contains("failback bitmap"));
}

TEST_CASE("failback ranges are coarsened to a bounded count that still covers them",
          "[failback]") {
  std::vector<VolumeExtent> many;
  for (uint64_t i = 0; i < 1000; ++i) many.push_back({1, i * 3 * kRs, kRs});
  many.push_back({2, 0, kRs});
  const std::vector<VolumeExtent> few = Coarsened(many, 10);
  CHECK(few.size() <= 10);
  for (const VolumeExtent& e : many) CHECK(Covers(few, e));
  CHECK(few.back().volume == 2);  // volumes are never joined
  CHECK(Coarsened(many, 5000).size() == many.size());
}

}  // namespace

// Three hosts (core/source_report.h): a third host that must roll back
// seqs of line L from seq F is covered only by a previous source's report
// of the same line from F or earlier; the newest report replaces the one
// before.
TEST_CASE("a previous source's report covers forks of its line at or after its own") {
  SourceReport board;
  CHECK_FALSE(board.Covering("g1", 10).has_value());
  board.Publish({"a", "g1", 20, {{1, 0, 4096}}});
  CHECK_FALSE(board.Covering("g1", 19).has_value());
  CHECK_FALSE(board.Covering("g0", 20).has_value());  // another line's seqs
  auto covering = board.Covering("g1", 20);
  REQUIRE(covering.has_value());
  CHECK(covering->source == "a");
  REQUIRE(covering->extents.size() == 1);
  CHECK(board.Covering("g1", 35).has_value());
  board.Publish({"b", "g1", 30, {{1, 0, 8192}}});
  CHECK_FALSE(board.Covering("g1", 25).has_value());
  CHECK(board.Covering("g1", 30)->source == "b");
}

// What a third host reports from its SRL (core/failback_bitmap.h): the
// ranges of exactly the records asked for, or ENOENT when the SRL no
// longer (or not yet) holds them.
TEST_CASE("SrlExtents lists the records' ranges, and says when the SRL does not hold them") {
  TempDir dir;
  const std::string path = dir.path() + "/srl";
  REQUIRE(Srl::Create(path, Srl::kMinSize, "srl-uuid").ok());
  auto srl = Srl::Open(path, "srl-uuid");
  REQUIRE(srl.ok());
  REQUIRE((*srl)->Recover([](const WriteRecord&) { return Status::Ok(); }).ok());
  std::vector<WriteRecord> records;
  for (uint64_t seq = 1; seq <= 6; ++seq) {
    records.push_back(MakeRecord(seq, 1 + seq % 2, seq * 8192, 4096 * seq));
  }
  auto appended = (*srl)->Append(records.data(), records.size());
  REQUIRE(appended.ok());
  REQUIRE(*appended == records.size());
  REQUIRE((*srl)->Sync().ok());
  auto listed = SrlExtents(**srl, 3, 5);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    const uint64_t seq = 3 + i;
    CHECK((*listed)[i].volume == 1 + seq % 2);
    CHECK((*listed)[i].offset == seq * 8192);
    CHECK((*listed)[i].length == 4096 * seq);
  }
  CHECK(SrlExtents(**srl, 5, 7).status().code() == ENOENT);  // 7 not logged yet
  REQUIRE((*srl)->AdvanceTail(4, 6).ok());
  CHECK(SrlExtents(**srl, 3, 6).status().code() == ENOENT);  // 3 released
  CHECK(SrlExtents(**srl, 4, 6).ok());
}
