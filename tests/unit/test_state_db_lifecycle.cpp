// StateDb: deletion, format checks and several connections on one file.
#include "state_db_fixture.h"

namespace rvg {

using namespace state_test;

TEST_CASE("deleting an RVG deletes everything that belongs to it", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  auto db = OpenOk(path);
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  REQUIRE(db->CreateRvg(PrimaryConfig("keep")).ok());
  for (const char* rvg : {"web", "keep"}) {
    REQUIRE(db->AddRlink(Rlink(rvg, "dr")).ok());
    REQUIRE(db->SaveAppliedSeq(rvg, 7).ok());
    REQUIRE(db->AddGeneration(rvg, GenerationEntry{"g1", 0, 1}).ok());
    REQUIRE(db->SetFlag(rvg, "last_owner", "1").ok());
    RawExec(path, std::string("INSERT INTO bitmaps VALUES ('") + rvg + "', 'dr', 1, 0, x'ff')");
  }
  REQUIRE(db->DeleteRvg("web").ok());

  CHECK(RawCount(path, "rvgs WHERE name = 'web'") == 0);
  for (const char* table :
       {"volumes", "rlinks", "secondary_progress", "generations", "flags", "bitmaps"}) {
    INFO(table);
    CHECK(RawCount(path, std::string(table) + " WHERE rvg = 'web'") == 0);
    CHECK(RawCount(path, std::string(table) + " WHERE rvg = 'keep'") > 0);
  }
  // The name is free again, with nothing left over from before.
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  CHECK(db->ListRlinks("web")->empty());
  CHECK(*db->AppliedSeq("web") == 0);
  CHECK(db->Generations("web")->empty());
  CHECK(db->Flags("web")->empty());

  // Deleting an RLINK takes its bitmap with it, and only its bitmap.
  REQUIRE(db->DeleteRlink("keep", "dr").ok());
  CHECK(RawCount(path, "bitmaps WHERE rvg = 'keep'") == 0);
  CHECK(RawCount(path, "rvgs WHERE name = 'keep'") == 1);
}

TEST_CASE("a database from a newer rvg is refused", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  OpenOk(path);
  RawExec(path, "UPDATE meta SET value = 99 WHERE key = 'format'");
  auto db = StateDb::Open(path);
  REQUIRE_FALSE(db.ok());
  CHECK_THAT(db.status().message(),
             Equals("state database " + path +
                    " was written by a newer rvg (format 99; this rvg knows up to 1): "
                    "upgrade rvg"));
}

TEST_CASE("a file that is not an rvg state database is refused untouched", "[state_db]") {
  TempDir dir;

  const std::string text = dir.File("notes.txt");
  {
    std::ofstream out(text);
    out << "these are not the tables you are looking for\n" << std::string(8192, 'x') << "\n";
  }
  const std::string before = ReadFile(text);
  auto db = StateDb::Open(text);
  REQUIRE_FALSE(db.ok());
  CHECK_THAT(db.status().message(), Contains(text + " is not an rvg state database"));
  CHECK(ReadFile(text) == before);

  const std::string other = dir.File("other.db");
  RawExec(other, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
  const std::string other_before = ReadFile(other);
  db = StateDb::Open(other);
  REQUIRE_FALSE(db.ok());
  CHECK_THAT(db.status().message(), Contains(other + " is not an rvg state database"));
  CHECK(ReadFile(other) == other_before);  // not even switched to WAL
  CHECK_FALSE(std::filesystem::exists(other + "-wal"));

  db = StateDb::Open(dir.File("no/such/dir/state.db"));
  REQUIRE_FALSE(db.ok());
  CHECK_THAT(db.status().message(), Contains(dir.File("no/such/dir/state.db")));
}

TEST_CASE("two StateDb objects on one file see each other's writes", "[state_db]") {
  // As rvgd and rvgadm do, from two processes.
  TempDir dir;
  const std::string path = dir.File("state.db");
  auto daemon = OpenOk(path);
  auto admin = OpenOk(path);

  REQUIRE(admin->CreateRvg(PrimaryConfig("web")).ok());
  REQUIRE(admin->AddRlink(Rlink("web", "dr")).ok());
  auto rlink = daemon->GetRlink("web", "dr");
  REQUIRE(rlink.ok());
  CHECK(rlink->synchronous == "off");

  REQUIRE(daemon->SaveRlinkProgress("web", "dr", "connected", 100, 90, 80).ok());
  REQUIRE(admin->SetRlinkAttribute("web", "dr", "synchronous", "fail").ok());
  REQUIRE(daemon->SaveRlinkProgress("web", "dr", "connected", 200, 190, 180).ok());

  // Neither write lost the other's: progress and attribute both stand.
  for (StateDb* db : {daemon.get(), admin.get()}) {
    rlink = db->GetRlink("web", "dr");
    REQUIRE(rlink.ok());
    CHECK(rlink->synchronous == "fail");
    CHECK(rlink->sent_seq == 200);
    CHECK(rlink->data_acked_seq == 180);
  }

  REQUIRE(admin->DeleteRvg("web").ok());
  RequireError(daemon->GetRvg("web").status(), "no RVG named web");
}

TEST_CASE("a write waits for another connection's write lock", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  auto db = OpenOk(path);
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());

  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  // Holds the lock on purpose for a while, well under the 10 s busy timeout.
  std::thread holder([other] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
  });
  Status status = db->SaveAppliedSeq("web", 5);
  holder.join();
  sqlite3_close(other);
  INFO(status.message());
  REQUIRE(status.ok());
  CHECK(*db->AppliedSeq("web") == 5);
}

}  // namespace rvg
