// StateDb: deletion, format checks and upgrades, several connections on
// one file, busy errors.
#include "state_db_fixture.h"

namespace rvg {

using namespace state_test;

namespace {

// The layout of format 1, verbatim from state/schema.h of the rvg builds
// that wrote it, to make a real format-1 file.
constexpr const char* kFormat1Schema = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value NOT NULL
);

CREATE TABLE rvgs (
  name        TEXT PRIMARY KEY,
  uuid        TEXT NOT NULL,
  role        TEXT NOT NULL,
  durability  TEXT NOT NULL,
  listen      TEXT NOT NULL,
  region_size INTEGER NOT NULL,
  srl_path    TEXT NOT NULL,
  srl_size    INTEGER NOT NULL,
  generation  TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);

CREATE TABLE volumes (
  rvg  TEXT NOT NULL REFERENCES rvgs(name) ON DELETE CASCADE,
  id   INTEGER NOT NULL,
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (rvg, id),
  UNIQUE (rvg, name)
);

CREATE TABLE rlinks (
  rvg               TEXT NOT NULL REFERENCES rvgs(name) ON DELETE CASCADE,
  name              TEXT NOT NULL,
  address           TEXT NOT NULL,
  synchronous       TEXT NOT NULL,
  sync_ack          TEXT NOT NULL,
  ack_timeout       REAL NOT NULL,
  latencyprot       TEXT NOT NULL,
  latency_high_mark INTEGER NOT NULL,
  latency_low_mark  INTEGER NOT NULL,
  srlprot           TEXT NOT NULL,
  bandwidth_limit   INTEGER NOT NULL,
  state             TEXT NOT NULL,
  sent_seq          INTEGER NOT NULL,
  net_acked_seq     INTEGER NOT NULL,
  data_acked_seq    INTEGER NOT NULL,
  PRIMARY KEY (rvg, name)
);

CREATE TABLE secondary_progress (
  rvg         TEXT PRIMARY KEY REFERENCES rvgs(name) ON DELETE CASCADE,
  applied_seq INTEGER NOT NULL
);

-- Oldest first is rowid order.
CREATE TABLE generations (
  rvg        TEXT NOT NULL REFERENCES rvgs(name) ON DELETE CASCADE,
  uuid       TEXT NOT NULL,
  start_seq  INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX generations_by_rvg ON generations (rvg);

CREATE TABLE flags (
  rvg    TEXT NOT NULL REFERENCES rvgs(name) ON DELETE CASCADE,
  name   TEXT NOT NULL,
  value  TEXT NOT NULL,
  set_at INTEGER NOT NULL,
  PRIMARY KEY (rvg, name)
);

CREATE TABLE bitmaps (
  rvg         TEXT NOT NULL REFERENCES rvgs(name) ON DELETE CASCADE,
  rlink       TEXT NOT NULL,
  volume_id   INTEGER NOT NULL,
  chunk_index INTEGER NOT NULL,
  bits        BLOB NOT NULL,
  PRIMARY KEY (rvg, rlink, volume_id, chunk_index)
);
)sql";

// One line per column of `table`: name, type, not null, default, pk.
std::vector<std::string> Columns(const std::string& path, const std::string& table) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string sql = "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('" +
                    table + "')";
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::vector<std::string> columns;
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string line;
    for (int i = 0; i < 5; ++i) {
      const unsigned char* text = sqlite3_column_text(st, i);
      line += (text ? reinterpret_cast<const char*>(text) : "NULL") + std::string("|");
    }
    columns.push_back(line);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return columns;
}

// Another connection's write lock on the file, held until Release().
class WriteLock {
 public:
  explicit WriteLock(const std::string& path) {
    REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  ~WriteLock() { Release(); }
  void Release() {
    if (db_ == nullptr) return;
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace

TEST_CASE("deleting an RVG deletes everything that belongs to it", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  auto db = OpenOk(path);
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  REQUIRE(db->CreateRvg(PrimaryConfig("keep")).ok());
  for (const char* rvg : {"web", "keep"}) {
    REQUIRE(db->AddRlink(Rlink(rvg, "dr")).ok());
    REQUIRE(db->SaveAppliedSeq(rvg, 7).ok());
    REQUIRE(db->AddGeneration(rvg, Generation{"g1", 1, "", 1}).ok());
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
  auto generations = db->Generations("web");
  REQUIRE(generations.ok());
  REQUIRE(generations->size() == 1);  // only the one CreateRvg starts with
  CHECK((*generations)[0].uuid == "gen-1");
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
                    " was written by a newer rvg (format 99; this rvg knows up to " +
                    std::to_string(StateDb::kFormatVersion) + "): upgrade rvg"));
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

TEST_CASE("a missing state database is created whole, leaving no temp file", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  {
    auto db = OpenOk(path);
    REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  }
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.File(""))) {
    names.push_back(entry.path().filename().string());
  }
  CHECK(names == std::vector<std::string>{"state.db"});
  CHECK(OpenOk(path)->ListRvgs()->size() == 1);
}

// The old Open initialised an empty file as a new database: every RVG and
// its replication progress silently gone.
TEST_CASE("an empty state database is refused untouched, not re-initialised", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  { std::ofstream touch(path); }
  auto db = StateDb::Open(path);
  REQUIRE_FALSE(db.ok());
  CHECK_THAT(db.status().message(),
             Contains(path + " is empty: restore it from backup or move it away"));
  CHECK(std::filesystem::file_size(path) == 0);
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));

  // SQLite without a single table is as empty.
  const std::string bare = dir.File("bare.db");
  RawExec(bare, "PRAGMA user_version = 7; VACUUM");
  REQUIRE(std::filesystem::file_size(bare) > 0);
  db = StateDb::Open(bare);
  REQUIRE_FALSE(db.ok());
  CHECK_THAT(db.status().message(), Contains(bare + " is empty"));
}

TEST_CASE("a damaged state database is refused by quick_check", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  {
    auto db = OpenOk(path);
    REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  }
  REQUIRE(std::filesystem::file_size(path) >= 3 * 4096);
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(4096);  // page 2: a table's root page
    const std::string garbage(4096, '\xa5');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  auto db = StateDb::Open(path);
  REQUIRE_FALSE(db.ok());
  CHECK_THAT(db.status().message(), Contains(path + " is damaged"));
  CHECK_THAT(db.status().message(), Contains("restore it from backup or move it away"));
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

TEST_CASE("a write waits for another connection's write lock, and is EBUSY past the busy timeout",
          "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  auto db = OpenOk(path);
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());

  WriteLock other(path);
  // Holds the lock on purpose for a while, well under the 10 s busy timeout.
  std::thread holder([&other] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    other.Release();
  });
  Status status = db->SaveAppliedSeq("web", 5);
  holder.join();
  INFO(status.message());
  REQUIRE(status.ok());
  CHECK(*db->AppliedSeq("web") == 5);

  // Past the busy timeout (10 s, on purpose) the error is EBUSY: the
  // secondary applier retries on EBUSY and only on EBUSY.
  WriteLock holder_for_good(path);
  status = db->SaveAppliedSeq("web", 6);
  holder_for_good.Release();
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == EBUSY);
  CHECK_THAT(status.message(), Contains("saving applied_seq of RVG web"));
  REQUIRE(db->SaveAppliedSeq("web", 6).ok());
  // Other failures are not EBUSY: retrying them would not help.
  Status missing = db->SaveAppliedSeq("nope", 5);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.code() != EBUSY);
}

TEST_CASE("a format-1 database is upgraded in place, keeping everything", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  RawExec(path, std::string("PRAGMA journal_mode=WAL;") + kFormat1Schema +
                    "INSERT INTO meta VALUES ('format', 1);"
                    "INSERT INTO rvgs VALUES ('web', 'uuid-web', 'primary', 'strict', '', 65536, "
                    "'/srv/web.srl', 67108864, 'gen-1', 1000);"
                    "INSERT INTO rvgs VALUES ('app', '', 'secondary', 'flush', 'tcp://0.0.0.0:7001', "
                    "65536, '', 0, '', 1000);"
                    "INSERT INTO volumes VALUES ('web', 1, 'data', '/srv/web.img', 1048576);"
                    "INSERT INTO generations VALUES ('web', 'gen-1', 1, 1000);"
                    "INSERT INTO secondary_progress VALUES ('app', 77);");

  auto db = OpenOk(path);
  auto web = db->GetRvg("web");
  REQUIRE(web.ok());
  // What a format-1 primary created its SRL with.
  CHECK(web->srl_uuid == "uuid-web");
  CHECK(web->srl_path == "/srv/web.srl");
  CHECK(web->durability == "strict");
  REQUIRE(web->volumes.size() == 1);
  CHECK(web->volumes[0].path == "/srv/web.img");
  CHECK(db->Generations("web")->size() == 1);
  auto app = db->GetRvg("app");
  REQUIRE(app.ok());
  CHECK(app->srl_uuid == "");  // a format-1 secondary has no SRL
  CHECK(app->srl_path == "");
  CHECK(*db->AppliedSeq("app") == 77);
  CHECK(RawCount(path, "meta WHERE key = 'format' AND value = " +
                           std::to_string(StateDb::kFormatVersion)) == 1);

  // The upgraded layout is exactly a fresh file's.
  const std::string fresh = dir.File("fresh.db");
  OpenOk(fresh);
  for (const char* table : {"meta", "rvgs", "volumes", "rlinks", "secondary_progress",
                            "generations", "flags", "bitmaps"}) {
    INFO(table);
    CHECK(Columns(path, table) == Columns(fresh, table));
  }

  // Opening again changes nothing, and the upgraded file works as usual.
  db.reset();
  db = OpenOk(path);
  RvgConfig config = PrimaryConfig("new");
  REQUIRE(db->CreateRvg(config).ok());
  CHECK(db->GetRvg("new")->srl_uuid == config.srl_uuid);
  CHECK(db->GetRvg("web")->srl_uuid == "uuid-web");
}

// Found by tests/fuzz/fuzz_state_rows: GetRvg and the RLINK reads handed out
// whatever a row held, so rvgd would run a role "bogus" as a secondary and
// two volume ids 1 and 2^32 + 1 became the same volume 1.
TEST_CASE("rows rvg would never write are refused when read and quoted printably",
          "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  {
    auto db = OpenOk(path);
    REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
    REQUIRE(db->AddRlink(Rlink("web", "london")).ok());
  }
  // Each case on a copy of the good file, so that they do not add up.
  const std::string good = ReadFile(path);
  auto restore = [&] { std::ofstream(path, std::ios::binary | std::ios::trunc) << good; };
  const std::pair<std::string, std::string> cases[] = {
      {"UPDATE rvgs SET role = 'bogus'", "invalid value \"bogus\" for role"},
      {"UPDATE rvgs SET durability = 7", "invalid value \"7\" for durability"},
      {"UPDATE rvgs SET region_size = 0", "region size of RVG web is 0 bytes: it must be"},
      // Below what the resync window is sized for (net/rlink_sender.cpp).
      {"UPDATE rvgs SET region_size = 512", "region size of RVG web is 512 bytes: it must be a "
                                            "power of two of at least 4096"},
      {"UPDATE rvgs SET region_size = 65537", "is 65537 bytes"},
      // Only a format-1 secondary had no SRL; a primary never did (found
      // by fuzz_state_rows).
      {"UPDATE rvgs SET srl_path = ''", "RVG web needs an SRL"},
      {"UPDATE volumes SET id = 4294967297 WHERE id = 2", "volume id 4294967297 is not in"},
      {"UPDATE volumes SET id = -1 WHERE id = 2", "volume id -1 is not in"},
      {"UPDATE volumes SET id = 1.5 WHERE id = 2", "volume id 1 is used twice in RVG web"},
      {"UPDATE volumes SET size = 0 WHERE id = 2", "has size 0"},
      {"UPDATE volumes SET name = 'a' || char(10) || 'b' WHERE id = 2",
       "invalid volume name \"a\\x0ab\""},
      {"UPDATE rlinks SET synchronous = 'maybe'", "invalid value \"maybe\" for synchronous"},
      {"UPDATE rlinks SET ack_timeout = -5", "ack_timeout"},
      {"UPDATE rlinks SET latency_low_mark = latency_high_mark", "must be below"},
  };
  for (const auto& [sql, expected] : cases) {
    restore();
    RawExec(path, sql);
    auto db = OpenOk(path);
    auto rvg = db->GetRvg("web");
    auto rlinks = db->ListRlinks("web");
    auto rlink = db->GetRlink("web", "london");
    INFO(sql);
    REQUIRE_FALSE((rvg.ok() && rlinks.ok() && rlink.ok()));
    const Status& st = !rvg.ok() ? rvg.status() : !rlinks.ok() ? rlinks.status() : rlink.status();
    CHECK_THAT(st.message(), Contains("the state database holds a row rvg cannot use") &&
                                 Contains(expected));
    CHECK(st.message().find('\n') == std::string::npos);
  }
}

}  // namespace rvg
