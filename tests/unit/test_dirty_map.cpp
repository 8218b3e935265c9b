// DirtyMap: geometry (short last regions, chunk boundaries), changed-chunk
// reporting, the counters, NextDirty over sparse maps, and the persisted
// chunk format (Chunk/Load), checked against a plain std::set model too.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "core/dirty_map.h"

using namespace rvg;
using Catch::Matchers::Contains;

namespace {

constexpr uint64_t kRs = 4096;  // region size of most tests
constexpr uint64_t kBits = DirtyMap::kChunkBits;

VolumeSpec Vol(uint32_t id, uint64_t size) { return VolumeSpec{id, "v", "/v", size}; }

// Every dirty region, by NextDirty from the start.
std::vector<RegionRef> Walk(const DirtyMap& map, RegionRef from = {}) {
  std::vector<RegionRef> out;
  for (auto r = map.NextDirty(from); r; r = map.NextDirty({r->volume, r->index + 1})) {
    out.push_back(*r);
  }
  return out;
}

}  // namespace

TEST_CASE("regions cover the volume; the last one is short") {
  DirtyMap map({Vol(1, 10 * kRs + 100), Vol(2, 3 * kRs), Vol(3, 0)}, kRs);
  CHECK(map.region_size() == kRs);
  CHECK(map.Extent({1, 0}) == std::pair<uint64_t, uint64_t>(0, kRs));
  CHECK(map.Extent({1, 9}) == std::pair<uint64_t, uint64_t>(9 * kRs, kRs));
  CHECK(map.Extent({1, 10}) == std::pair<uint64_t, uint64_t>(10 * kRs, 100));
  CHECK(map.Extent({1, 11}) == std::pair<uint64_t, uint64_t>(0, 0));
  CHECK(map.Extent({2, 2}) == std::pair<uint64_t, uint64_t>(2 * kRs, kRs));
  CHECK(map.Extent({2, 3}) == std::pair<uint64_t, uint64_t>(0, 0));
  CHECK(map.Extent({3, 0}) == std::pair<uint64_t, uint64_t>(0, 0));
  CHECK(map.Extent({9, 0}) == std::pair<uint64_t, uint64_t>(0, 0));

  // The short last region counts its real length.
  std::vector<ChunkRef> changed;
  CHECK(map.Mark(1, 10 * kRs + 99, 1, &changed) == 1);
  CHECK(map.IsDirty({1, 10}));
  CHECK(map.dirty_regions() == 1);
  CHECK(map.dirty_bytes() == 100);
  CHECK(map.Clear({1, 10}, &changed));
  CHECK(map.dirty_bytes() == 0);
}

TEST_CASE("Mark dirties every region a write touches, once") {
  DirtyMap map({Vol(1, 100 * kRs)}, kRs);
  std::vector<ChunkRef> changed;

  SECTION("within one region") {
    CHECK(map.Mark(1, 5 * kRs + 10, 100, &changed) == 1);
    CHECK(map.IsDirty({1, 5}));
    CHECK_FALSE(map.IsDirty({1, 4}));
    CHECK_FALSE(map.IsDirty({1, 6}));
  }
  SECTION("ending exactly on a boundary does not touch the next region") {
    CHECK(map.Mark(1, 5 * kRs, kRs, &changed) == 1);
    CHECK_FALSE(map.IsDirty({1, 6}));
  }
  SECTION("straddling a boundary by one byte each side") {
    CHECK(map.Mark(1, 6 * kRs - 1, 2, &changed) == 2);
    CHECK(map.IsDirty({1, 5}));
    CHECK(map.IsDirty({1, 6}));
  }
  SECTION("spanning many regions and 64-bit words") {
    CHECK(map.Mark(1, 3 * kRs + 1, 80 * kRs, &changed) == 81);
    CHECK(map.dirty_regions() == 81);
    CHECK(Walk(map).front() == RegionRef{1, 3});
    CHECK(Walk(map).back() == RegionRef{1, 83});
  }
  CHECK(changed == std::vector<ChunkRef>{{1, 0}});
  const uint64_t regions = map.dirty_regions();
  CHECK(map.dirty_bytes() == regions * kRs);

  // Marking again changes nothing and reports nothing.
  std::vector<ChunkRef> again;
  CHECK(map.Mark(1, 0, 100 * kRs, &again) == 100 - regions);
  CHECK(again == std::vector<ChunkRef>{{1, 0}});
  again.clear();
  CHECK(map.Mark(1, 0, 100 * kRs, &again) == 0);
  CHECK(again.empty());
}

TEST_CASE("Mark clamps to the volume and ignores what is not there") {
  DirtyMap map({Vol(1, 10 * kRs + 100)}, kRs);
  std::vector<ChunkRef> changed;
  CHECK(map.Mark(1, 0, 0, &changed) == 0);                   // length 0
  CHECK(map.Mark(2, 0, kRs, &changed) == 0);                 // unknown volume
  CHECK(map.Mark(1, 10 * kRs + 100, 1, &changed) == 0);      // at the end
  CHECK(map.Mark(1, UINT64_MAX, UINT64_MAX, &changed) == 0);  // far past it
  CHECK(changed.empty());
  CHECK(map.dirty_regions() == 0);

  // A range running past the end, even one whose end overflows, stops at
  // the last region.
  CHECK(map.Mark(1, 9 * kRs, UINT64_MAX, &changed) == 2);
  CHECK(map.IsDirty({1, 9}));
  CHECK(map.IsDirty({1, 10}));
  CHECK(map.dirty_bytes() == kRs + 100);
  CHECK(changed.size() == 1);
  // A null `changed` is fine.
  CHECK(map.Mark(1, 0, 1, nullptr) == 1);
}

TEST_CASE("a mark across a chunk boundary reports both chunks, and only new ones") {
  const uint64_t rs = 512;
  DirtyMap map({Vol(7, 3 * kBits * rs + 5 * rs), Vol(8, kBits * rs)}, rs);
  std::vector<ChunkRef> changed;
  CHECK(map.Mark(7, (kBits - 1) * rs, 2 * rs, &changed) == 2);
  CHECK(changed == std::vector<ChunkRef>{{7, 0}, {7, 1}});

  // Entries already in `changed` are not repeated, whatever else is there.
  changed = {{8, 0}, {7, 1}};
  CHECK(map.Mark(7, (2 * kBits - 1) * rs, 2 * rs, &changed) == 2);
  CHECK(changed == std::vector<ChunkRef>{{8, 0}, {7, 1}, {7, 2}});

  // ... also when there are many (the sorted look-up), and across calls
  // that accumulate into one vector.
  std::vector<ChunkRef> many;
  for (uint32_t v = 100; v < 140; ++v) many.push_back({v, 0});
  many.push_back({7, 3});
  for (uint32_t v = 200; v < 240; ++v) many.push_back({v, 5});
  const size_t before = many.size();
  CHECK(map.Mark(7, 3 * kBits * rs, 5 * rs, &many) == 5);  // the short last chunk
  CHECK(map.Mark(7, 0, kBits * rs, &many) == kBits - 1);
  CHECK(map.Mark(7, 10 * rs, rs, &many) == 0);
  CHECK(map.Mark(8, 0, rs, &many) == 1);
  CHECK(map.Mark(8, 0, rs, &many) == 0);
  REQUIRE(many.size() == before + 2);
  CHECK(many[before] == ChunkRef{7, 0});
  CHECK(many[before + 1] == ChunkRef{8, 0});
}

TEST_CASE("Clear cleans one region and reports its chunk") {
  DirtyMap map({Vol(1, 2 * kBits * kRs)}, kRs);
  std::vector<ChunkRef> changed;
  map.Mark(1, kBits * kRs, 3 * kRs, &changed);
  changed.clear();
  CHECK(map.Clear({1, kBits + 1}, &changed));
  CHECK(changed == std::vector<ChunkRef>{{1, 1}});
  CHECK_FALSE(map.IsDirty({1, kBits + 1}));
  CHECK(map.dirty_regions() == 2);
  CHECK(map.dirty_bytes() == 2 * kRs);

  changed.clear();
  CHECK_FALSE(map.Clear({1, kBits + 1}, &changed));  // already clean
  CHECK_FALSE(map.Clear({1, 2 * kBits}, &changed));  // past the end
  CHECK_FALSE(map.Clear({2, 0}, &changed));          // unknown volume
  CHECK(changed.empty());
  CHECK(map.Clear({1, kBits}, nullptr));
  CHECK(map.Clear({1, kBits + 2}, &changed));
  CHECK(map.dirty_regions() == 0);
  CHECK(map.dirty_bytes() == 0);
  CHECK(Walk(map).empty());
}

TEST_CASE("NextDirty walks volumes in the order given, then by index") {
  // Ids out of order on purpose: the constructor's order is the walk order.
  DirtyMap map({Vol(5, 100 * kRs), Vol(2, 50 * kRs + 1), Vol(9, 10 * kRs)}, kRs);
  CHECK_FALSE(map.NextDirty({5, 0}).has_value());
  CHECK_FALSE(map.NextDirty({}).has_value());
  map.Mark(9, 3 * kRs, 1, nullptr);
  map.Mark(5, 99 * kRs, 1, nullptr);
  map.Mark(2, 0, 1, nullptr);
  map.Mark(2, 50 * kRs, 1, nullptr);  // the one-byte last region

  const std::vector<RegionRef> all = {{5, 99}, {2, 0}, {2, 50}, {9, 3}};
  CHECK(Walk(map, {5, 0}) == all);
  CHECK(Walk(map, {}) == all);         // volume 0 does not exist: from the start
  CHECK(Walk(map, {77, 12}) == all);
  CHECK(map.NextDirty({5, 99}) == RegionRef{5, 99});  // "at or after"
  CHECK(map.NextDirty({5, 100}) == RegionRef{2, 0});  // past the end: next volume
  CHECK(map.NextDirty({2, 1}) == RegionRef{2, 50});
  CHECK(map.NextDirty({2, 51}) == RegionRef{9, 3});
  CHECK(map.NextDirty({2, UINT64_MAX}) == RegionRef{9, 3});
  CHECK_FALSE(map.NextDirty({9, 4}).has_value());
}

TEST_CASE("NextDirty crosses large empty spans") {
  // 16 Mi regions per volume (512 chunks): a walk that read every word
  // would still pass, so the spans are checked for results, and the whole
  // walk is repeated often enough to notice a slow scan.
  const uint64_t regions = 512 * kBits;
  DirtyMap map({Vol(1, regions * kRs), Vol(2, regions * kRs), Vol(3, regions * kRs)}, kRs);
  const std::vector<RegionRef> dirty = {{1, 0},          {1, 63},     {1, 64},
                                        {1, kBits - 1},  {1, kBits},  {1, 300 * kBits + 17},
                                        {3, regions - 1}};
  for (const RegionRef& r : dirty) map.Mark(r.volume, r.index * kRs, 1, nullptr);
  for (int i = 0; i < 200; ++i) REQUIRE(Walk(map) == dirty);
  CHECK(map.NextDirty({1, kBits + 1}) == RegionRef{1, 300 * kBits + 17});
  CHECK(map.NextDirty({1, 300 * kBits + 18}) == RegionRef{3, regions - 1});
  CHECK(map.NextDirty({2, 5}) == RegionRef{3, regions - 1});
  CHECK(map.dirty_regions() == dirty.size());
}

TEST_CASE("MarkAll and ClearAll keep the counters and report each chunk once") {
  const uint64_t rs = 1024;
  // Volume 1: two full chunks and a short third; volume 2: one region of
  // 10 bytes; volume 3: empty.
  DirtyMap map({Vol(1, 2 * kBits * rs + 10 * rs + 7), Vol(2, 10), Vol(3, 0)}, rs);
  const uint64_t regions = 2 * kBits + 11 + 1;
  const uint64_t bytes = 2 * kBits * rs + 10 * rs + 7 + 10;

  map.Mark(1, kBits * rs, 1, nullptr);  // chunk 1 partly dirty already
  std::vector<ChunkRef> changed;
  map.MarkAll(&changed);
  CHECK(changed == std::vector<ChunkRef>{{1, 0}, {1, 1}, {1, 2}, {2, 0}});
  CHECK(map.dirty_regions() == regions);
  CHECK(map.dirty_bytes() == bytes);
  CHECK(map.IsDirty({1, 2 * kBits + 10}));
  CHECK_FALSE(map.IsDirty({1, 2 * kBits + 11}));

  changed.clear();
  map.MarkAll(&changed);  // nothing new
  CHECK(changed.empty());
  CHECK(map.dirty_regions() == regions);

  map.Clear({1, 5}, nullptr);
  map.Clear({2, 0}, nullptr);
  CHECK(map.dirty_regions() == regions - 2);
  CHECK(map.dirty_bytes() == bytes - rs - 10);
  map.ClearAll(&changed);
  CHECK(changed == std::vector<ChunkRef>{{1, 0}, {1, 1}, {1, 2}});  // not the clean {2, 0}
  CHECK(map.dirty_regions() == 0);
  CHECK(map.dirty_bytes() == 0);
  CHECK_FALSE(map.NextDirty({}).has_value());
  changed.clear();
  map.ClearAll(&changed);
  CHECK(changed.empty());
}

TEST_CASE("Chunk holds the bits least significant first and sized to the volume") {
  const uint64_t rs = 512;
  DirtyMap map({Vol(4, (kBits + 13) * rs)}, rs);
  map.Mark(4, 9 * rs, 1, nullptr);
  map.Mark(4, 63 * rs, 2 * rs, nullptr);          // regions 63, 64
  map.Mark(4, (kBits + 12) * rs, rs, nullptr);  // last region

  const BitmapChunk first = map.Chunk({4, 0});
  CHECK(first.volume == 4);
  CHECK(first.index == 0);
  REQUIRE(first.bits.size() == DirtyMap::kChunkBytes);
  CHECK(first.bits[1] == 0x02);  // region 9
  CHECK(first.bits[7] == 0x80);  // region 63
  CHECK(first.bits[8] == 0x01);  // region 64
  CHECK(std::count(first.bits.begin(), first.bits.end(), 0) == DirtyMap::kChunkBytes - 3);

  const BitmapChunk last = map.Chunk({4, 1});
  REQUIRE(last.bits.size() == 2);  // 13 regions
  CHECK(last.bits[0] == 0x00);
  CHECK(last.bits[1] == 0x10);  // region kBits + 12

  CHECK(map.Chunk({4, 2}).bits.empty());
  CHECK(map.Chunk({5, 0}).bits.empty());
}

TEST_CASE("Chunk and Load round-trip a map") {
  const uint64_t rs = 512;
  const std::vector<VolumeSpec> volumes = {Vol(1, (2 * kBits + 77) * rs - 3), Vol(2, 40 * rs)};
  DirtyMap map(volumes, rs);
  std::mt19937_64 rng(42);
  std::vector<ChunkRef> changed;
  for (int i = 0; i < 500; ++i) {
    const uint32_t volume = rng() % 2 == 0 ? 1 : 2;
    map.Mark(volume, rng() % volumes[volume - 1].size, rng() % (4 * rs), &changed);
  }
  map.Mark(1, volumes[0].size - 1, 1, &changed);  // the short last region

  DirtyMap copy(volumes, rs);
  for (const ChunkRef& c : changed) {
    Status st = copy.Load(map.Chunk(c));
    INFO(st.ToString());
    REQUIRE(st.ok());
  }
  CHECK(copy.dirty_regions() == map.dirty_regions());
  CHECK(copy.dirty_bytes() == map.dirty_bytes());
  CHECK(Walk(copy) == Walk(map));
  for (const ChunkRef& c : changed) CHECK(copy.Chunk(c).bits == map.Chunk(c).bits);

  // Loading ORs in: a second load changes nothing, and a load into a map
  // with other bits keeps them.
  REQUIRE(copy.Load(map.Chunk({1, 0})).ok());
  CHECK(copy.dirty_regions() == map.dirty_regions());
  DirtyMap other(volumes, rs);
  other.Mark(1, 0, 1, nullptr);
  other.Mark(2, 0, 1, nullptr);
  DirtyMap clean(volumes, rs);
  BitmapChunk empty_first = clean.Chunk({1, 0});
  REQUIRE(other.Load(empty_first).ok());
  CHECK(other.IsDirty({1, 0}));
  CHECK(other.dirty_regions() == 2);
}

TEST_CASE("Load refuses chunks that do not fit the volumes, naming them") {
  const uint64_t rs = 512;
  DirtyMap map({Vol(1, (kBits + 13) * rs)}, rs);
  map.Mark(1, 0, 1, nullptr);
  auto refused = [&](const BitmapChunk& chunk, const std::string& words) {
    Status st = map.Load(chunk);
    REQUIRE_FALSE(st.ok());
    CHECK(st.code() == EINVAL);
    CHECK_THAT(st.message(), Contains("bitmap chunk " + std::to_string(chunk.index) +
                                      " of volume id " + std::to_string(chunk.volume)));
    CHECK_THAT(st.message(), Contains(words));
  };
  refused({2, 0, std::vector<uint8_t>(DirtyMap::kChunkBytes, 0xff)}, "no such volume");
  refused({1, 2, {0x01, 0x00}}, "past the end");
  refused({1, 0, std::vector<uint8_t>(DirtyMap::kChunkBytes - 1, 0xff)}, "4095 bytes where 4096");
  refused({1, 1, std::vector<uint8_t>(DirtyMap::kChunkBytes, 0)}, "4096 bytes where 2");
  refused({1, 1, {0x00, 0x20}}, "past the volume's last region");  // region kBits + 13
  // Nothing of the refused chunks got in.
  CHECK(map.dirty_regions() == 1);
  CHECK(Walk(map) == std::vector<RegionRef>{{1, 0}});
  // The last valid bit is fine.
  CHECK(map.Load({1, 1, {0x00, 0x10}}).ok());
  CHECK(map.IsDirty({1, kBits + 12}));
}

TEST_CASE("random marks and clears agree with a set of regions") {
  const uint64_t rs = 256;
  const std::vector<VolumeSpec> volumes = {Vol(3, (kBits + 500) * rs + 17), Vol(1, 700 * rs),
                                           Vol(2, 1)};
  DirtyMap map(volumes, rs);
  std::vector<std::set<uint64_t>> model(volumes.size());
  auto regions_of = [&](size_t v) { return (volumes[v].size + rs - 1) / rs; };
  auto bytes_of = [&](size_t v, uint64_t r) { return std::min(rs, volumes[v].size - r * rs); };
  std::mt19937_64 rng(7);
  for (int step = 0; step < 3000; ++step) {
    const size_t v = rng() % volumes.size();
    const uint32_t id = volumes[v].id;
    std::vector<ChunkRef> changed;
    std::set<uint64_t> expected_chunks;
    if (rng() % 3 != 0) {
      const uint64_t offset = rng() % (volumes[v].size + rs);
      const uint64_t length = rng() % 8 == 0 ? rng() % (kBits * rs) : rng() % (3 * rs);
      size_t newly = 0;
      if (length > 0 && offset < volumes[v].size) {
        const uint64_t end = std::min(volumes[v].size, offset + length);
        for (uint64_t r = offset / rs; r <= (end - 1) / rs; ++r) {
          if (model[v].insert(r).second) {
            ++newly;
            expected_chunks.insert(r / kBits);
          }
        }
      }
      CHECK(map.Mark(id, offset, length, &changed) == newly);
    } else {
      const uint64_t r = rng() % (regions_of(v) + 1);
      const bool was = model[v].erase(r) > 0;
      if (was) expected_chunks.insert(r / kBits);
      CHECK(map.Clear({id, r}, &changed) == was);
    }
    std::set<uint64_t> got;
    for (const ChunkRef& c : changed) {
      CHECK(c.volume == id);
      CHECK(got.insert(c.index).second);  // no duplicates
    }
    CHECK(got == expected_chunks);
  }
  uint64_t regions = 0, bytes = 0;
  std::vector<RegionRef> walk;
  for (size_t v = 0; v < volumes.size(); ++v) {
    regions += model[v].size();
    for (uint64_t r : model[v]) {
      bytes += bytes_of(v, r);
      walk.push_back({volumes[v].id, r});
    }
  }
  CHECK(map.dirty_regions() == regions);
  CHECK(map.dirty_bytes() == bytes);
  CHECK(Walk(map) == walk);
  std::vector<ChunkRef> cleared;
  map.ClearAll(&cleared);
  std::set<std::pair<uint32_t, uint64_t>> dirty_chunks;
  for (const RegionRef& r : walk) dirty_chunks.insert({r.volume, r.index / kBits});
  std::set<std::pair<uint32_t, uint64_t>> cleared_set;
  for (const ChunkRef& c : cleared) cleared_set.insert({c.volume, c.index});
  CHECK(cleared.size() == cleared_set.size());
  CHECK(cleared_set == dirty_chunks);
  CHECK(map.dirty_regions() == 0);
  CHECK(map.dirty_bytes() == 0);
}
