// StateDb: everything saved survives close and reopen; foreign and newer
// files are refused; names that clash or are missing, and bad attribute
// values, give errors an administrator can act on.
#include "state_db_fixture.h"
#include "state/sqlite_statement.h"

namespace rvg {

using namespace state_test;


TEST_CASE("RVGs round-trip through close and reopen", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  {
    auto db = OpenOk(path);
    REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
    RvgConfig secondary;
    secondary.name = "app";
    secondary.role = "secondary";
    secondary.listen = "tcp://0.0.0.0:7001";
    secondary.srl_path = "/srv/app.srl";
    secondary.srl_size = 64ull << 20;
    secondary.srl_uuid = "srl-of-app";
    secondary.volumes.push_back(VolumeSpec{1, "data", "/srv/app.img", 4096});
    REQUIRE(db->CreateRvg(secondary).ok());
  }
  auto db = OpenOk(path);
  auto names = db->ListRvgs();
  REQUIRE(names.ok());
  REQUIRE(*names == std::vector<std::string>{"app", "web"});

  auto web = db->GetRvg("web");
  REQUIRE(web.ok());
  RvgConfig expected = PrimaryConfig("web");
  CHECK(web->name == "web");
  CHECK(web->uuid == expected.uuid);
  CHECK(web->role == "primary");
  CHECK(web->durability == "strict");
  CHECK(web->listen == "");
  CHECK(web->region_size == expected.region_size);
  CHECK(web->srl_path == expected.srl_path);
  CHECK(web->srl_size == expected.srl_size);
  CHECK(web->srl_uuid == "srl-of-web");
  CHECK(web->generation == "gen-1");
  REQUIRE(web->volumes.size() == 2);
  CHECK(web->volumes[0].id == 1);
  CHECK(web->volumes[0].name == "data");
  CHECK(web->volumes[0].path == "/srv/data.img");
  CHECK(web->volumes[0].size == (5ull << 30));
  CHECK(web->volumes[1].id == 2);
  CHECK(web->volumes[1].name == "logs");

  auto app = db->GetRvg("app");
  REQUIRE(app.ok());
  CHECK(app->role == "secondary");
  CHECK(app->uuid == "");
  CHECK(app->durability == "flush");
  CHECK(app->listen == "tcp://0.0.0.0:7001");
  CHECK(app->srl_path == "/srv/app.srl");
  CHECK(app->srl_size == (64ull << 20));
  CHECK(app->srl_uuid == "srl-of-app");
  CHECK(app->generation == "");

  // A secondary adopts its primary; durability changes; both persist.
  REQUIRE(db->BindRvg("app", "uuid-of-web", "gen-7").ok());
  REQUIRE(db->SetDurability("app", "strict").ok());
  db.reset();
  db = OpenOk(path);
  app = db->GetRvg("app");
  REQUIRE(app.ok());
  CHECK(app->uuid == "uuid-of-web");
  CHECK(app->generation == "gen-7");
  CHECK(app->durability == "strict");
  auto history = db->Generations("app");  // bound in the same transaction
  REQUIRE(history.ok());
  REQUIRE(history->size() == 1);
  CHECK((*history)[0].uuid == "gen-7");
  CHECK((*history)[0].start_seq == 1);
}

TEST_CASE("the database file is in WAL mode with the current format", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  OpenOk(path);
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "wal");
  sqlite3_finalize(st);
  REQUIRE(sqlite3_prepare_v2(raw, "SELECT value FROM meta WHERE key = 'format'", -1, &st,
                             nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(sqlite3_column_int(st, 0) == StateDb::kFormatVersion);
  sqlite3_finalize(st);
  sqlite3_close(raw);
}

TEST_CASE("RVG names that clash or are missing are reported by name", "[state_db]") {
  TempDir dir;
  auto db = OpenOk(dir.File("state.db"));
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());

  RequireError(db->CreateRvg(PrimaryConfig("web")), "RVG web already exists");
  CHECK(db->CreateRvg(PrimaryConfig("web")).code() == EEXIST);

  const std::string missing = "no RVG named nope";
  RequireError(db->GetRvg("nope").status(), missing);
  CHECK(db->GetRvg("nope").status().code() == ENOENT);
  RequireError(db->DeleteRvg("nope"), missing);
  RequireError(db->BindRvg("nope", "u", "g"), missing);
  RequireError(db->SetDurability("nope", "flush"), missing);
  RequireError(db->AddRlink(Rlink("nope", "dr")), missing);
  RequireError(db->ListRlinks("nope").status(), missing);
  RequireError(db->GetRlink("nope", "dr").status(), missing);
  RequireError(db->DeleteRlink("nope", "dr"), missing);
  RequireError(db->SetRlinkAttribute("nope", "dr", "synchronous", "fail"), missing);
  RequireError(db->SaveRlinkProgress("nope", "dr", "connected", 1, 1, 1), missing);
  RequireError(db->SaveAppliedSeq("nope", 5), missing);
  RequireError(db->AppliedSeq("nope").status(), missing);
  RequireError(db->AddGeneration("nope", Generation{"g", 1, "", 1}), missing);
  RequireError(db->Generations("nope").status(), missing);
  RequireError(db->SetFlag("nope", "data_corrupt", "1"), missing);
  RequireError(db->ClearFlag("nope", "data_corrupt"), missing);
  RequireError(db->Flags("nope").status(), missing);
}

TEST_CASE("a bad RVG config is refused and leaves nothing behind", "[state_db]") {
  TempDir dir;
  auto db = OpenOk(dir.File("state.db"));

  RvgConfig config = PrimaryConfig("web");
  config.volumes.push_back(VolumeSpec{1, "other", "/srv/other.img", 4096});
  RequireError(db->CreateRvg(config), "volume id 1 is used twice in RVG web");

  config = PrimaryConfig("web");
  config.volumes.push_back(VolumeSpec{3, "data", "/srv/other.img", 4096});
  RequireError(db->CreateRvg(config), "volume name data is used twice in RVG web");
  // The transaction was rolled back: no half-created RVG.
  RequireError(db->GetRvg("web").status(), "no RVG named web");

  config = PrimaryConfig("web");
  config.role = "master";
  RequireError(db->CreateRvg(config),
               "invalid value \"master\" for role: expected primary or secondary");
  config = PrimaryConfig("web");
  config.durability = "lazy";
  RequireError(db->CreateRvg(config),
               "invalid value \"lazy\" for durability: expected flush or strict");
  config = PrimaryConfig("a/b");
  CHECK_THAT(db->CreateRvg(config).message(), Contains("invalid RVG name \"a/b\""));
  config = PrimaryConfig("web");
  config.volumes[0].name = "x/y";
  CHECK_THAT(db->CreateRvg(config).message(), Contains("invalid volume name \"x/y\""));
  for (bool no_path : {true, false}) {
    config = PrimaryConfig("web");
    config.role = "secondary";
    (no_path ? config.srl_path : config.srl_uuid) = "";
    RequireError(db->CreateRvg(config), "RVG web needs an SRL (path and identity): every RVG, "
                                        "a secondary too, logs its writes in one");
  }

  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  RequireError(db->SetDurability("web", "sometimes"),
               "invalid value \"sometimes\" for durability: expected flush or strict");
  auto names = db->ListRvgs();
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"web"});
}

TEST_CASE("RLINKs round-trip through close and reopen", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  {
    auto db = OpenOk(path);
    REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
    RlinkConfig dr = Rlink("web", "dr");
    dr.synchronous = "fail";
    dr.sync_ack = "durable";
    dr.ack_timeout = 2.5;
    dr.latencyprot = "override";
    dr.latency_high_mark = 500;
    dr.latency_low_mark = 100;
    dr.srlprot = "fail";
    dr.bandwidth_limit = 100ull << 20;
    dr.state = "connected";
    dr.sent_seq = 10;
    dr.net_acked_seq = 9;
    dr.data_acked_seq = 8;
    REQUIRE(db->AddRlink(dr).ok());
    REQUIRE(db->AddRlink(Rlink("web", "backup")).ok());
  }
  auto db = OpenOk(path);
  auto dr = db->GetRlink("web", "dr");
  REQUIRE(dr.ok());
  CHECK(dr->rvg == "web");
  CHECK(dr->name == "dr");
  CHECK(dr->address == "tcp://10.0.0.2:7001");
  CHECK(dr->synchronous == "fail");
  CHECK(dr->sync_ack == "durable");
  CHECK(dr->ack_timeout == 2.5);
  CHECK(dr->latencyprot == "override");
  CHECK(dr->latency_high_mark == 500);
  CHECK(dr->latency_low_mark == 100);
  CHECK(dr->srlprot == "fail");
  CHECK(dr->bandwidth_limit == (100ull << 20));
  CHECK(dr->state == "connected");
  CHECK(dr->sent_seq == 10);
  CHECK(dr->net_acked_seq == 9);
  CHECK(dr->data_acked_seq == 8);

  auto all = db->ListRlinks("web");
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].name == "backup");  // ordered by name
  CHECK((*all)[0].synchronous == "off");
  CHECK((*all)[0].state == "disconnected");
  CHECK((*all)[1].name == "dr");

  // Progress, including seqs above INT64_MAX, survives a reopen.
  const uint64_t big = UINT64_MAX - 1;
  REQUIRE(db->SaveRlinkProgress("web", "backup", "resyncing", big, 40, 30).ok());
  db.reset();
  db = OpenOk(path);
  auto backup = db->GetRlink("web", "backup");
  REQUIRE(backup.ok());
  CHECK(backup->state == "resyncing");
  CHECK(backup->sent_seq == big);
  CHECK(backup->net_acked_seq == 40);
  CHECK(backup->data_acked_seq == 30);

  // Its compare flag goes with it; another RLINK's stays.
  REQUIRE(db->SetFlag("web", CompareResyncFlag("backup"), "1").ok());
  REQUIRE(db->SetFlag("web", CompareResyncFlag("dr"), "1").ok());
  REQUIRE(db->DeleteRlink("web", "backup").ok());
  all = db->ListRlinks("web");
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].name == "dr");
  Result<std::vector<FlagEntry>> flags = db->Flags("web");
  REQUIRE(flags.ok());
  REQUIRE(flags->size() == 1);
  CHECK((*flags)[0].name == CompareResyncFlag("dr"));
}

TEST_CASE("secondary names that clash or are missing are reported by name", "[state_db]") {
  TempDir dir;
  auto db = OpenOk(dir.File("state.db"));
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  REQUIRE(db->AddRlink(Rlink("web", "dr")).ok());

  RequireError(db->AddRlink(Rlink("web", "dr")), "secondary dr already exists in RVG web");
  const std::string missing = "no secondary named nope in RVG web";
  RequireError(db->GetRlink("web", "nope").status(), missing);
  RequireError(db->DeleteRlink("web", "nope"), missing);
  RequireError(db->SetRlinkAttribute("web", "nope", "synchronous", "fail"), missing);
  RequireError(db->SaveRlinkProgress("web", "nope", "connected", 1, 1, 1), missing);

  RlinkConfig bad = Rlink("web", "other");
  bad.srlprot = "maybe";
  RequireError(db->AddRlink(bad),
               "invalid value \"maybe\" for srlprot: expected autodcm, dcm, fail, override or off");
  bad = Rlink("web", "other");
  bad.address = "10.0.0.3";
  CHECK_THAT(db->AddRlink(bad).message(), Contains("invalid value \"10.0.0.3\" for address"));
}

TEST_CASE("every RLINK attribute can be set by name and persists", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  {
    auto db = OpenOk(path);
    REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
    REQUIRE(db->AddRlink(Rlink("web", "dr")).ok());
    auto set = [&](const std::string& key, const std::string& value) {
      Status status = db->SetRlinkAttribute("web", "dr", key, value);
      INFO(key << "=" << value << ": " << status.message());
      REQUIRE(status.ok());
    };
    set("address", "tcp://192.168.1.9:7100");
    set("synchronous", "override");
    set("sync_ack", "durable");
    set("ack_timeout", "0.25");
    set("latencyprot", "fail");
    set("latency_low_mark", "20");  // below the default high mark
    set("latency_high_mark", "50");
    set("srlprot", "dcm");
    set("bandwidth_limit", "1048576");
  }
  auto db = OpenOk(path);
  auto dr = db->GetRlink("web", "dr");
  REQUIRE(dr.ok());
  CHECK(dr->address == "tcp://192.168.1.9:7100");
  CHECK(dr->synchronous == "override");
  CHECK(dr->sync_ack == "durable");
  CHECK(dr->ack_timeout == 0.25);
  CHECK(dr->latencyprot == "fail");
  CHECK(dr->latency_low_mark == 20);
  CHECK(dr->latency_high_mark == 50);
  CHECK(dr->srlprot == "dcm");
  CHECK(dr->bandwidth_limit == 1048576);

  REQUIRE(db->SetRlinkAttribute("web", "dr", "bandwidth_limit", "none").ok());
  dr = db->GetRlink("web", "dr");
  REQUIRE(dr.ok());
  CHECK(dr->bandwidth_limit == 0);
}

TEST_CASE("bad RLINK attribute values are refused and change nothing", "[state_db]") {
  TempDir dir;
  auto db = OpenOk(dir.File("state.db"));
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  REQUIRE(db->AddRlink(Rlink("web", "dr")).ok());
  auto set = [&](const std::string& key, const std::string& value) {
    return db->SetRlinkAttribute("web", "dr", key, value);
  };

  RequireError(set("synchronous", "x"),
               "invalid value \"x\" for synchronous: expected off, override or fail");
  RequireError(set("sync_ack", "sent"),
               "invalid value \"sent\" for sync_ack: expected received or durable");
  RequireError(set("latencyprot", "on"),
               "invalid value \"on\" for latencyprot: expected off, override or fail");
  RequireError(
      set("srlprot", "ignore"),
      "invalid value \"ignore\" for srlprot: expected autodcm, dcm, fail, override or off");
  RequireError(set("ack_timeout", "soon"),
               "invalid value \"soon\" for ack_timeout: expected a positive number of seconds");
  CHECK_FALSE(set("ack_timeout", "0").ok());
  CHECK_FALSE(set("ack_timeout", "-1").ok());
  CHECK_FALSE(set("ack_timeout", "").ok());
  RequireError(set("latency_high_mark", "12x"),
               "invalid value \"12x\" for latency_high_mark: expected a whole number of writes");
  CHECK_FALSE(set("latency_low_mark", "-5").ok());
  RequireError(set("bandwidth_limit", "fast"),
               "invalid value \"fast\" for bandwidth_limit: expected a whole number of bytes per "
               "second or none");
  CHECK_THAT(set("address", "nowhere").message(), Contains("for address"));
  // Defaults are high 10000, low 9000.
  RequireError(set("latency_low_mark", "10000"),
               "latency_low_mark (10000) must be below latency_high_mark (10000)");
  RequireError(set("latency_high_mark", "100"),
               "latency_low_mark (9000) must be below latency_high_mark (100)");
  auto unknown = set("speed", "1");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.message(), Contains("unknown attribute \"speed\""));
  CHECK_THAT(unknown.message(), Contains("bandwidth_limit"));
  CHECK(unknown.code() == EINVAL);

  auto dr = db->GetRlink("web", "dr");
  REQUIRE(dr.ok());
  RlinkConfig defaults = Rlink("web", "dr");
  CHECK(dr->address == defaults.address);
  CHECK(dr->synchronous == defaults.synchronous);
  CHECK(dr->sync_ack == defaults.sync_ack);
  CHECK(dr->ack_timeout == defaults.ack_timeout);
  CHECK(dr->latencyprot == defaults.latencyprot);
  CHECK(dr->latency_high_mark == defaults.latency_high_mark);
  CHECK(dr->latency_low_mark == defaults.latency_low_mark);
  CHECK(dr->srlprot == defaults.srlprot);
  CHECK(dr->bandwidth_limit == defaults.bandwidth_limit);
}

TEST_CASE("applied_seq, generations and flags round-trip", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  const int64_t before = static_cast<int64_t>(std::time(nullptr));
  {
    auto db = OpenOk(path);
    RvgConfig config = PrimaryConfig("web");
    config.role = "secondary";
    config.uuid = config.generation = "";  // unbound
    REQUIRE(db->CreateRvg(config).ok());
    auto applied = db->AppliedSeq("web");
    REQUIRE(applied.ok());
    CHECK(*applied == 0);  // never saved
    REQUIRE(db->SaveAppliedSeq("web", 41).ok());
    REQUIRE(db->SaveAppliedSeq("web", 42).ok());

    REQUIRE(db->AddGeneration("web", Generation{"gen-b", 1, "", 1000}).ok());
    REQUIRE(db->AddGeneration("web", Generation{"gen-a", 500, "", 2000}).ok());

    REQUIRE(db->SetFlag("web", "source", "old-primary").ok());
    REQUIRE(db->SetFlag("web", "last_owner", "1").ok());
    REQUIRE(db->SetFlag("web", "source", "host-b").ok());  // overwrites
    REQUIRE(db->SetFlag("web", "data_corrupt", "1").ok());
    REQUIRE(db->ClearFlag("web", "data_corrupt").ok());
    REQUIRE(db->ClearFlag("web", "never_set").ok());  // not an error
  }
  auto db = OpenOk(path);
  auto applied = db->AppliedSeq("web");
  REQUIRE(applied.ok());
  CHECK(*applied == 42);

  auto generations = db->Generations("web");
  REQUIRE(generations.ok());
  REQUIRE(generations->size() == 2);
  CHECK((*generations)[0].uuid == "gen-b");  // oldest first, not by name
  CHECK((*generations)[0].start_seq == 1);
  CHECK((*generations)[0].created_at == 1000);
  CHECK((*generations)[1].uuid == "gen-a");
  CHECK((*generations)[1].start_seq == 500);
  CHECK((*generations)[1].created_at == 2000);

  auto flags = db->Flags("web");
  REQUIRE(flags.ok());
  REQUIRE(flags->size() == 2);
  CHECK((*flags)[0].name == "last_owner");
  CHECK((*flags)[0].value == "1");
  CHECK((*flags)[1].name == "source");
  CHECK((*flags)[1].value == "host-b");
  const int64_t after = static_cast<int64_t>(std::time(nullptr));
  for (const FlagEntry& flag : *flags) {
    CHECK(flag.set_at >= before);
    CHECK(flag.set_at <= after);
  }
}

TEST_CASE("the checkpoints' saves reuse one prepared statement each", "[state_db]") {
  TempDir dir;
  const std::string path = dir.File("state.db");
  auto db = OpenOk(path);
  REQUIRE(db->CreateRvg(PrimaryConfig("web")).ok());
  REQUIRE(db->AddRlink(Rlink("web", "dr")).ok());
  // The first call of each prepares its statement; none after it does.
  REQUIRE(db->SaveAppliedSeq("web", 1).ok());
  REQUIRE(db->SaveRlinkProgress("web", "dr", "connected", 1, 1, 1).ok());
  const uint64_t prepared = SqlStatement::prepared_total();
  for (uint64_t seq = 2; seq <= 50; ++seq) {
    REQUIRE(db->SaveAppliedSeq("web", seq).ok());
    REQUIRE(db->SaveRlinkProgress("web", "dr", "connected", seq + 2, seq + 1, seq).ok());
  }
  CHECK(SqlStatement::prepared_total() == prepared);
  // A failure leaves the kept statement usable.
  CHECK(db->SaveAppliedSeq("nope", 7).code() == ENOENT);
  CHECK(db->SaveRlinkProgress("web", "nope", "connected", 1, 1, 1).code() == ENOENT);
  REQUIRE(db->SaveAppliedSeq("web", 51).ok());
  REQUIRE(db->SaveRlinkProgress("web", "dr", "connected", 53, 52, 51).ok());
  CHECK(*db->AppliedSeq("web") == 51);
  auto dr = db->GetRlink("web", "dr");
  REQUIRE(dr.ok());
  CHECK(dr->sent_seq == 53);
  CHECK(dr->net_acked_seq == 52);
  CHECK(dr->data_acked_seq == 51);
}

}  // namespace rvg
