// StateDb's failover state (state/state_failover.cpp): histories, flags
// with their reasons, role changes in one transaction, and the upgrade that
// chains format-3 generation rows.
#include "state_db_fixture.h"

namespace rvg::state_test {
namespace {

TEST_CASE("AddGeneration appends and makes the entry current", "[state_db]") {
  TempDir dir;
  auto db = OpenOk(dir.File("state.db"));
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  GenerationHistory history = *db->Generations("web");
  REQUIRE(history.size() == 1);
  CHECK(history[0].uuid == "gen-1");
  CHECK(history[0].parent.empty());
  REQUIRE(db->AddGeneration("web", NextGeneration(history, "gen-2", 91, 5)).ok());
  history = *db->Generations("web");
  REQUIRE(history.size() == 2);
  CHECK(history[1] == Generation{"gen-2", 91, "gen-1", 5});
  CHECK(CheckHistory(history).ok());
  CHECK(db->GetRvg("web")->generation == "gen-2");
}

TEST_CASE("AdoptHistory replaces the history whole, or refuses a broken one", "[state_db]") {
  TempDir dir;
  auto db = OpenOk(dir.File("state.db"));
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  GenerationHistory peer;
  peer.push_back(NextGeneration(peer, "gen-1", 1, 1));
  peer.push_back(NextGeneration(peer, "gen-7", 300, 2));
  REQUIRE(db->AdoptHistory("web", peer).ok());
  CHECK(*db->Generations("web") == peer);
  CHECK(db->GetRvg("web")->generation == "gen-7");

  GenerationHistory broken = peer;
  broken[1].parent = "nowhere";
  Status st = db->AdoptHistory("web", broken);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Contains("does not follow"));
  CHECK(*db->Generations("web") == peer);  // unchanged
  RequireError(db->AdoptHistory("nope", peer), "no RVG named nope");
}

TEST_CASE("ChangeRole applies role, generation, flags and RLINK states together", "[state_db]") {
  TempDir dir;
  auto db = OpenOk(dir.File("state.db"));
  RvgConfig config = PrimaryConfig("web");
  config.role = "secondary";
  REQUIRE(db->CreateRvg(config).ok());
  REQUIRE(db->AddRlink(Rlink("web", "london")).ok());
  REQUIRE(db->SetFlag("web", "inconsistent", "1", "resync").ok());

  RoleChange change;
  change.role = "primary";
  change.generation = NextGeneration(*db->Generations("web"), "gen-2", 42, 9);
  change.set_flags = {{"last_owner", "paris", 0, "takeover"}, {"source", "london", 0, "takeover"}};
  change.clear_flags = {"inconsistent"};
  change.rlink_states = {{"london", "dcm"}};
  REQUIRE(db->ChangeRole("web", change).ok());
  CHECK(db->GetRvg("web")->role == "primary");
  CHECK(db->GetRvg("web")->generation == "gen-2");
  CHECK(db->Generations("web")->back().start_seq == 42);
  CHECK(db->GetRlink("web", "london")->state == "dcm");
  auto flags = *db->Flags("web");
  REQUIRE(flags.size() == 2);
  CHECK(flags[0].name == "last_owner");
  CHECK(flags[0].value == "paris");
  CHECK(flags[0].reason == "takeover");
  CHECK(flags[0].set_at > 0);
  CHECK(flags[1].name == "source");

  // A change that fails part way changes nothing.
  RoleChange bad;
  bad.role = "secondary";
  bad.generation = NextGeneration(*db->Generations("web"), "gen-3", 50, 9);
  bad.rlink_states = {{"tokyo", "dcm"}};
  Status st = db->ChangeRole("web", bad);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Contains("no RLINK named tokyo"));
  CHECK(db->GetRvg("web")->role == "primary");
  CHECK(db->Generations("web")->size() == 2);
  bad.role = "witness";
  CHECK_FALSE(db->ChangeRole("web", bad).ok());
}

TEST_CASE("a step-down stores the failback bitmap; EndFailback adopts and clears it at once",
          "[state_db]") {
  TempDir dir;
  auto db = OpenOk(dir.File("state.db"));
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  REQUIRE(db->AddRlink(Rlink("web", "london")).ok());
  // A stale chunk of an earlier failback is replaced, not merged.
  REQUIRE(db->SaveBitmapChunks("web", "", {BitmapChunk{0, 3, std::vector<uint8_t>(8, 0xff)}}).ok());

  RoleChange down;
  down.role = "secondary";
  down.set_flags = {{"failback", "gen-9", 0, "replaced"}};
  down.clear_flags = {"last_owner"};
  down.failback_bitmap = std::vector<BitmapChunk>{BitmapChunk{0, 0, {0x05, 0x00}}};
  REQUIRE(db->ChangeRole("web", down).ok());
  CHECK(db->GetRvg("web")->role == "secondary");
  auto bitmap = *db->LoadBitmap("web", "");
  REQUIRE(bitmap.size() == 1);
  CHECK(bitmap[0].index == 0);
  CHECK(bitmap[0].bits == std::vector<uint8_t>{0x05, 0x00});
  CHECK(db->LoadBitmap("web", "london")->empty());
  REQUIRE(db->SetFlag("web", "inconsistent", "1", "resync").ok());

  GenerationHistory peer = *db->Generations("web");
  peer.push_back(NextGeneration(peer, "gen-9", 40, 3));
  GenerationHistory broken = peer;
  broken[1].parent = "nowhere";
  REQUIRE_FALSE(db->EndFailback("web", broken).ok());
  CHECK(db->Flags("web")->size() == 2);  // nothing changed

  REQUIRE(db->EndFailback("web", peer).ok());
  CHECK(*db->Generations("web") == peer);
  CHECK(db->GetRvg("web")->generation == "gen-9");
  CHECK(db->Flags("web")->empty());
  CHECK(db->LoadBitmap("web", "")->empty());
  RequireError(db->EndFailback("nope", peer), "no RVG named nope");
}

TEST_CASE("mountpoint, the running marker and the peer's generation persist", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  {
    auto db = OpenOk(path);
    RvgConfig config = PrimaryConfig("web");
    config.host = "paris";
    REQUIRE(db->CreateRvg(config).ok());
    REQUIRE(db->AddRlink(Rlink("web", "london")).ok());
    REQUIRE(db->SetMountpoint("web", "/mnt/web").ok());
    REQUIRE(db->SetPrimaryRunning("web", true).ok());
    REQUIRE(db->SaveRlinkPeerGeneration("web", "london", "gen-1").ok());
    CHECK_FALSE(db->SaveRlinkPeerGeneration("web", "tokyo", "gen-1").ok());
    RequireError(db->SetMountpoint("nope", "/x"), "no RVG named nope");
  }
  auto db = OpenOk(path);
  RvgConfig web = *db->GetRvg("web");
  CHECK(web.host == "paris");
  CHECK(web.mountpoint == "/mnt/web");
  CHECK(web.primary_running);
  CHECK(db->GetRlink("web", "london")->peer_generation == "gen-1");
  REQUIRE(db->SetPrimaryRunning("web", false).ok());
  CHECK_FALSE(db->GetRvg("web")->primary_running);

  // force-online: a new generation and data_corrupt gone in one change;
  // the marker stays (the primary runs on).
  REQUIRE(db->SetPrimaryRunning("web", true).ok());
  REQUIRE(db->SetFlag("web", "data_corrupt", "1", "unclean end").ok());
  RoleChange online;
  online.role = "primary";
  online.generation = NextGeneration(*db->Generations("web"), "gen-2", 7, 1);
  online.clear_flags.push_back("data_corrupt");
  REQUIRE(db->ChangeRole("web", online).ok());
  CHECK(db->GetRvg("web")->generation == "gen-2");
  CHECK(db->GetRvg("web")->primary_running);
  CHECK(db->Flags("web")->empty());
  // A secondary cannot end uncleanly as a primary: stepping down clears it.
  RoleChange down;
  down.role = "secondary";
  REQUIRE(db->ChangeRole("web", down).ok());
  CHECK_FALSE(db->GetRvg("web")->primary_running);
}

TEST_CASE("the format-4 upgrade chains the generation rows in their order", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  {
    auto db = OpenOk(path);
    REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
    REQUIRE(db->AddGeneration("web", Generation{"gen-2", 10, "", 2}).ok());
    REQUIRE(db->AddGeneration("web", Generation{"gen-3", 20, "", 3}).ok());
  }
  // Back to what a format-3 file held: no parents.
  RawExec(path, "UPDATE generations SET parent = ''; UPDATE meta SET value = 3 WHERE key = 'format';"
                "ALTER TABLE generations DROP COLUMN parent; ALTER TABLE flags DROP COLUMN reason;"
                "ALTER TABLE rvgs DROP COLUMN host; ALTER TABLE rvgs DROP COLUMN mountpoint;"
                "ALTER TABLE rvgs DROP COLUMN primary_running;"
                "ALTER TABLE rlinks DROP COLUMN peer_generation;"
                "ALTER TABLE rlinks DROP COLUMN source_wait;");
  auto db = OpenOk(path);
  GenerationHistory history = *db->Generations("web");
  REQUIRE(history.size() == 3);
  CHECK(history[0].parent.empty());
  CHECK(history[1].parent == "gen-1");
  CHECK(history[2].parent == "gen-2");
  CHECK(CheckHistory(history).ok());
}

}  // namespace
}  // namespace rvg::state_test
