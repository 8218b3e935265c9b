// StateDb bitmaps: chunks round-trip, clean chunks leave no row, other
// bitmaps are never touched, and a bitmap goes with its RLINK or RVG.
#include "core/dirty_map.h"
#include "state_db_fixture.h"

namespace rvg {

using namespace state_test;

namespace {

BitmapChunk Chunk(uint32_t volume, uint64_t index, std::vector<uint8_t> bits) {
  return BitmapChunk{volume, index, std::move(bits)};
}

// A full-size chunk with a few bits set, different for each `seed`.
BitmapChunk Full(uint32_t volume, uint64_t index, uint8_t seed) {
  std::vector<uint8_t> bits(DirtyMap::kChunkBytes, 0);
  bits[0] = seed;
  bits[DirtyMap::kChunkBytes / 2] = static_cast<uint8_t>(seed ^ 0x5a);
  bits.back() = 0x80;
  return Chunk(volume, index, std::move(bits));
}

std::vector<BitmapChunk> LoadOk(StateDb& db, const std::string& rvg, const std::string& rlink) {
  auto chunks = db.LoadBitmap(rvg, rlink);
  INFO(chunks.status().message());
  REQUIRE(chunks.ok());
  return *chunks;
}

void RequireSame(const std::vector<BitmapChunk>& got, const std::vector<BitmapChunk>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i].volume == want[i].volume);
    CHECK(got[i].index == want[i].index);
    CHECK(got[i].bits == want[i].bits);
  }
}

void SaveOk(StateDb& db, const std::string& rvg, const std::string& rlink,
            const std::vector<BitmapChunk>& chunks) {
  Status status = db.SaveBitmapChunks(rvg, rlink, chunks);
  INFO(status.message());
  REQUIRE(status.ok());
}

}  // namespace

TEST_CASE("bitmap chunks round-trip through close and reopen", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  // Saved out of order: LoadBitmap returns them by (volume, index).
  const std::vector<BitmapChunk> saved = {Full(2, 0, 3), Full(1, 7, 1), Chunk(1, 9, {0x00, 0x10}),
                                          Full(1, 0, 2), Chunk(2, UINT64_MAX, {0x01})};
  {
    auto db = OpenOk(path);
    REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
    REQUIRE(db->AddRlink(Rlink("web", "dr")).ok());
    CHECK(LoadOk(*db, "web", "dr").empty());  // a clean map
    SaveOk(*db, "web", "dr", saved);
  }
  auto db = OpenOk(path);
  RequireSame(LoadOk(*db, "web", "dr"),
              {saved[3], saved[1], saved[2], saved[0], saved[4]});

  // A chunk saved again is replaced, not added.
  const BitmapChunk replaced = Full(1, 7, 9);
  SaveOk(*db, "web", "dr", {replaced});
  RequireSame(LoadOk(*db, "web", "dr"), {saved[3], replaced, saved[2], saved[0], saved[4]});
  CHECK(RawCount(path, "bitmaps") == 5);

  // The bits that DirtyMap produced load back into an equal map.
  const std::vector<VolumeSpec> volumes = {{1, "a", "/a", 3 * DirtyMap::kChunkBits * 512},
                                           {2, "b", "/b", 1000 * 512}};
  DirtyMap map(volumes, 512);
  std::vector<ChunkRef> changed;
  map.Mark(1, 5 * 512, 3 * 512, &changed);
  map.Mark(1, (DirtyMap::kChunkBits * 2 + 4) * 512, 1, &changed);
  map.Mark(2, 999 * 512, 1, &changed);
  std::vector<BitmapChunk> chunks;
  for (const ChunkRef& c : changed) chunks.push_back(map.Chunk(c));
  SaveOk(*db, "web", "", chunks);
  DirtyMap loaded(volumes, 512);
  for (const BitmapChunk& c : LoadOk(*db, "web", "")) REQUIRE(loaded.Load(c).ok());
  CHECK(loaded.dirty_regions() == 5);
  CHECK(loaded.IsDirty({2, 999}));
  CHECK(loaded.IsDirty({1, DirtyMap::kChunkBits * 2 + 4}));
}

TEST_CASE("a chunk with no bit set deletes its row", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  auto db = OpenOk(path);
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  SaveOk(*db, "web", "dr", {Full(1, 0, 1), Full(1, 1, 2), Full(2, 0, 3)});

  // One save both cleans and dirties: an all-zero chunk of any size, and an
  // empty one, remove rows; a chunk that was never saved is no error.
  SaveOk(*db, "web", "dr",
         {Chunk(1, 0, std::vector<uint8_t>(DirtyMap::kChunkBytes, 0)), Chunk(2, 0, {}),
          Chunk(1, 5, {0x00}), Full(1, 2, 4)});
  RequireSame(LoadOk(*db, "web", "dr"), {Full(1, 1, 2), Full(1, 2, 4)});

  // A clean map has no rows at all.
  SaveOk(*db, "web", "dr", {Chunk(1, 1, {0, 0}), Chunk(1, 2, {})});
  CHECK(LoadOk(*db, "web", "dr").empty());
  CHECK(RawCount(path, "bitmaps") == 0);
  SaveOk(*db, "web", "dr", {});  // nothing to save
}

TEST_CASE("bitmaps of other RLINKs and RVGs are never touched", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  auto db = OpenOk(path);
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  REQUIRE(db->CreateRvg(PrimaryConfig("app")).ok());
  REQUIRE(db->AddRlink(Rlink("web", "dr")).ok());
  REQUIRE(db->AddRlink(Rlink("web", "backup")).ok());
  REQUIRE(db->AddRlink(Rlink("app", "dr")).ok());
  // The same chunk positions in each bitmap, with different bits.
  SaveOk(*db, "web", "dr", {Full(1, 0, 1), Full(2, 0, 1)});
  SaveOk(*db, "web", "backup", {Full(1, 0, 2), Full(2, 0, 2)});
  SaveOk(*db, "web", "", {Full(1, 0, 3)});  // the failback bitmap
  SaveOk(*db, "app", "dr", {Full(1, 0, 4), Full(2, 0, 4)});

  SaveOk(*db, "web", "dr", {Full(1, 0, 5), Chunk(2, 0, {0})});
  RequireSame(LoadOk(*db, "web", "dr"), {Full(1, 0, 5)});
  RequireSame(LoadOk(*db, "web", "backup"), {Full(1, 0, 2), Full(2, 0, 2)});
  RequireSame(LoadOk(*db, "web", ""), {Full(1, 0, 3)});
  RequireSame(LoadOk(*db, "app", "dr"), {Full(1, 0, 4), Full(2, 0, 4)});

  SECTION("DeleteBitmap removes one bitmap") {
    REQUIRE(db->DeleteBitmap("web", "backup").ok());
    CHECK(LoadOk(*db, "web", "backup").empty());
    REQUIRE(db->DeleteBitmap("web", "backup").ok());  // none left: no error
    REQUIRE(db->DeleteBitmap("web", "").ok());
    CHECK(LoadOk(*db, "web", "").empty());
    RequireSame(LoadOk(*db, "web", "dr"), {Full(1, 0, 5)});
    RequireSame(LoadOk(*db, "app", "dr"), {Full(1, 0, 4), Full(2, 0, 4)});
    CHECK(RawCount(path, "bitmaps") == 3);
  }
  SECTION("DeleteRlink removes that RLINK's bitmap only") {
    REQUIRE(db->DeleteRlink("web", "dr").ok());
    CHECK(LoadOk(*db, "web", "dr").empty());
    RequireSame(LoadOk(*db, "web", "backup"), {Full(1, 0, 2), Full(2, 0, 2)});
    RequireSame(LoadOk(*db, "web", ""), {Full(1, 0, 3)});
    RequireSame(LoadOk(*db, "app", "dr"), {Full(1, 0, 4), Full(2, 0, 4)});
  }
  SECTION("deleting an RVG deletes all its bitmaps, the failback one too") {
    REQUIRE(db->DeleteRvg("web").ok());
    CHECK(RawCount(path, "bitmaps WHERE rvg = 'web'") == 0);
    RequireSame(LoadOk(*db, "app", "dr"), {Full(1, 0, 4), Full(2, 0, 4)});
    // Re-created under the same name, it starts clean.
    REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
    CHECK(LoadOk(*db, "web", "dr").empty());
    CHECK(LoadOk(*db, "web", "").empty());
  }
}

TEST_CASE("bitmaps of a missing RVG are an error, and a failed save changes nothing",
          "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  auto db = OpenOk(path);
  const std::string missing = "no RVG named nope";
  RequireError(db->SaveBitmapChunks("nope", "dr", {Full(1, 0, 1)}), missing);
  RequireError(db->SaveBitmapChunks("nope", "dr", {Chunk(1, 0, {0})}), missing);
  RequireError(db->LoadBitmap("nope", "dr").status(), missing);
  RequireError(db->DeleteBitmap("nope", "dr"), missing);
  CHECK(db->LoadBitmap("nope", "dr").status().code() == ENOENT);

  // A save that fails half-way (here a trigger refuses its third row)
  // leaves none of its chunks behind: one transaction.
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  SaveOk(*db, "web", "dr", {Full(1, 0, 1)});
  RawExec(path,
          "CREATE TRIGGER refuse BEFORE INSERT ON bitmaps WHEN NEW.chunk_index = 66 "
          "BEGIN SELECT RAISE(ABORT, 'refused'); END");
  Status status =
      db->SaveBitmapChunks("web", "dr", {Chunk(1, 0, {0}), Full(1, 1, 2), Full(1, 66, 3)});
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.message(), Contains("saving the bitmap of secondary dr of RVG web"));
  RequireSame(LoadOk(*db, "web", "dr"), {Full(1, 0, 1)});
}

TEST_CASE("a bitmap row with a volume id that is not 32 bits is refused", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  auto db = OpenOk(path);
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  RawExec(path, "INSERT INTO bitmaps VALUES ('web', '', 4294967296, 0, x'01')");
  auto chunks = db->LoadBitmap("web", "");
  REQUIRE_FALSE(chunks.ok());
  CHECK(chunks.status().code() == EINVAL);
  CHECK_THAT(chunks.status().message(),
             Contains("reading the failback bitmap of RVG web") && Contains("4294967296"));
}

}  // namespace rvg
