// StateDb over SQLite.
//
// Every public method is one SQLite transaction: a single statement in
// autocommit mode, or BEGIN IMMEDIATE ... COMMIT when it needs several.
// Values are always bound, never spliced into SQL text; where a constraint
// fails, the extended result code is turned into a message about names
// ("RVG X already exists") instead of one about SQL.
#include "state/state_db.h"

#include <sqlite3.h>

#include <cstdint>
#include <ctime>

#include "core/text.h"
#include "state/config_check.h"
#include "state/state_db_rows.h"
#include "state/state_file.h"
#include "state/state_format.h"
#include "state/sqlite_statement.h"

namespace rvg {
namespace {

constexpr int kBusyTimeoutMs = 10000;

}  // namespace

int64_t UnixNow() { return static_cast<int64_t>(std::time(nullptr)); }

// ---- Shared with state_bitmaps.cpp (state/state_db_rows.h) ---------------

Status NoRvg(const std::string& rvg) {
  return Status::Error("no RVG named " + Printable(rvg), ENOENT);
}

Status DamagedRow(const std::string& what, const Status& problem) {
  return Status::Error(what + ": the state database holds a row rvg cannot use (" +
                           problem.message() + "); repair or delete it",
                       EINVAL);
}

Status RequireRvg(sqlite3* db, const std::string& rvg, const std::string& what) {
  SqlStatement st(db, "SELECT 1 FROM rvgs WHERE name = ?");
  st.BindText(rvg);
  Result<bool> exists = st.Step(what);
  if (!exists.ok()) return exists.status();
  return *exists ? Status::Ok() : NoRvg(rvg);
}

namespace {

// The error for an RLINK that was not found: names the RVG when that is
// what is missing.
Status MissingRlink(sqlite3* db, const std::string& rvg, const std::string& name,
                    const std::string& what) {
  Status status = RequireRvg(db, rvg, what);
  if (!status.ok()) return status;
  return Status::Error("no secondary named " + Printable(name) + " in RVG " + Printable(rvg),
                       ENOENT);
}

// Runs a single-statement UPDATE or DELETE of one RVG's row; no row touched
// means no such RVG.
Status ChangeRvgRow(sqlite3* db, SqlStatement& st, const std::string& rvg,
                    const std::string& what) {
  Status status = st.Run(what);
  if (!status.ok()) return status;
  return sqlite3_changes(db) == 0 ? NoRvg(rvg) : Status::Ok();
}

// ---- RLINK rows ----------------------------------------------------------

constexpr const char* kRlinkColumns =
    "rvg, name, address, synchronous, sync_ack, ack_timeout, latencyprot, latency_high_mark, "
    "latency_low_mark, srlprot, bandwidth_limit, state, sent_seq, net_acked_seq, data_acked_seq, "
    "peer_key, insecure, peer_generation, source_wait";

// Binds the attribute columns, address to bandwidth_limit, in table order.
void BindRlinkAttributes(SqlStatement& st, const RlinkConfig& rlink) {
  st.BindText(rlink.address)
      .BindText(rlink.synchronous)
      .BindText(rlink.sync_ack)
      .BindReal(rlink.ack_timeout)
      .BindText(rlink.latencyprot)
      .BindUint(rlink.latency_high_mark)
      .BindUint(rlink.latency_low_mark)
      .BindText(rlink.srlprot)
      .BindUint(rlink.bandwidth_limit);
}

// Reads a row selected with kRlinkColumns; refuses one that
// CheckRlinkAttributes (which every write path applies) would refuse.
Result<RlinkConfig> RlinkFromRow(const SqlStatement& st, const std::string& what) {
  RlinkConfig rlink;
  rlink.rvg = st.Text(0);
  rlink.name = st.Text(1);
  rlink.address = st.Text(2);
  rlink.synchronous = st.Text(3);
  rlink.sync_ack = st.Text(4);
  rlink.ack_timeout = st.Real(5);
  rlink.latencyprot = st.Text(6);
  rlink.latency_high_mark = st.Uint(7);
  rlink.latency_low_mark = st.Uint(8);
  rlink.srlprot = st.Text(9);
  rlink.bandwidth_limit = st.Uint(10);
  rlink.state = st.Text(11);
  rlink.sent_seq = st.Uint(12);
  rlink.net_acked_seq = st.Uint(13);
  rlink.data_acked_seq = st.Uint(14);
  rlink.peer_key = st.Text(15);
  rlink.insecure = st.Int(16) != 0;
  rlink.peer_generation = st.Text(17);
  rlink.source_wait = st.Real(18);
  Status status = rlink.name.empty() ? Status::Error("a secondary without a name", EINVAL)
                                     : CheckRlinkAttributes(rlink);
  if (!status.ok()) return DamagedRow(what, status);
  return rlink;
}

Result<RlinkConfig> ReadRlink(sqlite3* db, const std::string& rvg, const std::string& name,
                              const std::string& what) {
  SqlStatement st(
      db, std::string("SELECT ") + kRlinkColumns + " FROM rlinks WHERE rvg = ? AND name = ?");
  st.BindText(rvg).BindText(name);
  Result<bool> row = st.Step(what);
  if (!row.ok()) return row.status();
  if (!*row) return MissingRlink(db, rvg, name, what);
  return RlinkFromRow(st, what);
}

}  // namespace

StateDb::StateDb(sqlite3* db) : db_(db) {}

StateDb::~StateDb() {
  save_applied_seq_.reset();
  save_rlink_progress_.reset();
  sqlite3_close_v2(db_);
}

SqlStatement& StateDb::Cached(std::unique_ptr<SqlStatement>* slot, const char* sql) {
  if (!*slot) *slot = std::make_unique<SqlStatement>(db_, sql);
  (*slot)->Reset();
  return **slot;
}

Result<std::unique_ptr<StateDb>> StateDb::Open(const std::string& path) {
  // Created whole where missing, so that an empty file is damage, never a
  // new database (state/state_file.h).
  Status status = CreateStateFileIfMissing(path);
  if (status.ok()) status = CheckStateFileNotEmpty(path);
  if (!status.ok()) return status;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  // Owns the handle from here on, including on the failure paths below.
  std::unique_ptr<StateDb> state(new StateDb(db));
  if (rc != SQLITE_OK) {
    return Status::Error("opening state database " + path + ": " + sqlite3_errmsg(db));
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);

  status = QuickCheckStateFile(db, path);
  if (!status.ok()) return status;
  int version = 0;
  status = ReadStateFormat(db, path, &version);
  if (!status.ok()) return status;
  if (version == 0) return EmptyStateFile(path);
  // synchronous=FULL: in WAL mode every commit fsyncs the WAL (one
  // fdatasync; the database file waits for a WAL checkpoint), so a commit
  // is durable when it returns. NORMAL would fsync only at WAL checkpoints,
  // and a power cut could take back commits that already returned. That
  // is not safe for any table here, and the setting is per connection,
  // not per table:
  //   - secondary_progress: the secondary moves its SRL tail past a record
  //     once the applied_seq covering it is persisted; a commit taken back
  //     would leave the persisted seq below the log it is the floor of;
  //   - rlinks (progress): the primary's SRL tail follows the persisted
  //     data acks, and the highest persisted seq is its recovery floor;
  //   - bitmaps: a region is persisted dirty before the write that dirtied
  //     it is answered, or a resync could skip that write;
  //   - flags, generations, rvgs, volumes: rare administrative commits
  //     that other hosts and the operator act on.
  // The cost is small: checkpoints commit at most a few times a second and
  // not at all when nothing changed.
  status = SqlExec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON",
                   "configuring state database " + path);
  if (!status.ok()) return status;
  if (version != kFormatVersion) {
    status = BringStateToCurrentFormat(db, path);
    if (!status.ok()) return status;
  }
  return state;
}

// ---- RVGs ----------------------------------------------------------------

Status StateDb::CreateRvg(const RvgConfig& config) {
  Status status = CheckRvgConfig(config);
  if (!status.ok()) return status;
  const std::string what = "creating RVG " + Printable(config.name);
  SqlTransaction tx(db_, what);
  if (status = tx.BeginWrite(); !status.ok()) return status;

  SqlStatement rvg(db_,
                   "INSERT INTO rvgs (name, uuid, role, durability, listen, region_size, srl_path, "
                   "srl_size, srl_uuid, generation, created_at, peer_key, insecure, host, mountpoint) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  rvg.BindText(config.name)
      .BindText(config.uuid)
      .BindText(config.role)
      .BindText(config.durability)
      .BindText(config.listen)
      .BindUint(config.region_size)
      .BindText(config.srl_path)
      .BindUint(config.srl_size)
      .BindText(config.srl_uuid)
      .BindText(config.generation)
      .BindInt(UnixNow())
      .BindText(config.peer_key)
      .BindInt(config.insecure ? 1 : 0)
      .BindText(config.host)
      .BindText(config.mountpoint);
  status = rvg.Run(what);
  if (rvg.error_code() == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Status::Error("RVG " + Printable(config.name) + " already exists", EEXIST);
  }
  if (!status.ok()) return status;

  SqlStatement volume(db_,
                      "INSERT INTO volumes (rvg, id, name, path, size) VALUES (?, ?, ?, ?, ?)");
  for (const VolumeSpec& spec : config.volumes) {
    volume.Reset();
    volume.BindText(config.name)
        .BindInt(spec.id)
        .BindText(spec.name)
        .BindText(spec.path)
        .BindUint(spec.size);
    status = volume.Run(what);
    if (volume.error_code() == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return Status::Error("volume id " + std::to_string(spec.id) + " is used twice in RVG " +
                               Printable(config.name),
                           EINVAL);
    }
    if (volume.error_code() == SQLITE_CONSTRAINT_UNIQUE) {
      return Status::Error(
          "volume name " + Printable(spec.name) + " is used twice in RVG " + Printable(config.name),
          EINVAL);
    }
    if (!status.ok()) return status;
  }
  if (!config.generation.empty()) {
    status = InsertGeneration(db_, config.name, Generation{config.generation, 1, "", UnixNow()},
                              what);
    if (!status.ok()) return status;
  }
  return tx.Commit();
}

Result<RvgConfig> StateDb::GetRvg(const std::string& name) {
  const std::string what = "reading RVG " + Printable(name);
  SqlTransaction tx(db_, what);
  if (Status status = tx.BeginRead(); !status.ok()) return status;

  SqlStatement rvg(db_,
                   "SELECT uuid, role, durability, listen, region_size, srl_path, srl_size, "
                   "generation, srl_uuid, peer_key, insecure, host, mountpoint, primary_running "
                   "FROM rvgs WHERE name = ?");
  rvg.BindText(name);
  Result<bool> row = rvg.Step(what);
  if (!row.ok()) return row.status();
  if (!*row) return NoRvg(name);
  RvgConfig config;
  config.name = name;
  config.uuid = rvg.Text(0);
  config.role = rvg.Text(1);
  config.durability = rvg.Text(2);
  config.listen = rvg.Text(3);
  config.region_size = rvg.Uint(4);
  config.srl_path = rvg.Text(5);
  config.srl_size = rvg.Uint(6);
  config.generation = rvg.Text(7);
  config.srl_uuid = rvg.Text(8);
  config.peer_key = rvg.Text(9);
  config.insecure = rvg.Int(10) != 0;
  config.host = rvg.Text(11);
  config.mountpoint = rvg.Text(12);
  config.primary_running = rvg.Int(13) != 0;

  SqlStatement volumes(db_, "SELECT id, name, path, size FROM volumes WHERE rvg = ? ORDER BY id");
  volumes.BindText(name);
  for (;;) {
    row = volumes.Step(what);
    if (!row.ok()) return row.status();
    if (!*row) break;
    // Checked before the cast: ids 1 and 2^32 + 1 must not both become 1.
    const int64_t id = volumes.Int(0);
    if (id < 1 || id > UINT32_MAX) {
      return DamagedRow(what, Status::Error("volume id " + std::to_string(id) + " is not in "
                                            "1.." + std::to_string(UINT32_MAX)));
    }
    VolumeSpec spec;
    spec.id = static_cast<uint32_t>(id);
    spec.name = volumes.Text(1);
    spec.path = volumes.Text(2);
    spec.size = volumes.Uint(3);
    config.volumes.push_back(spec);
  }
  if (Status status = CheckStoredRvg(config); !status.ok()) return DamagedRow(what, status);
  return config;
}

Result<std::vector<std::string>> StateDb::ListRvgs() {
  SqlStatement st(db_, "SELECT name FROM rvgs ORDER BY name");
  std::vector<std::string> names;
  for (;;) {
    Result<bool> row = st.Step("listing RVGs");
    if (!row.ok()) return row.status();
    if (!*row) return names;
    names.push_back(st.Text(0));
  }
}

Status StateDb::DeleteRvg(const std::string& name) {
  // One statement: the cascade removes everything else of the RVG with it.
  SqlStatement st(db_, "DELETE FROM rvgs WHERE name = ?");
  st.BindText(name);
  return ChangeRvgRow(db_, st, name, "deleting RVG " + Printable(name));
}

Status StateDb::BindRvg(const std::string& name, const std::string& uuid,
                        const std::string& generation) {
  if (uuid.empty() || generation.empty()) {
    return Status::Error("binding RVG " + Printable(name) + " needs a uuid and a generation",
                         EINVAL);
  }
  const std::string what = "binding RVG " + Printable(name);
  SqlTransaction tx(db_, what);
  Status status = tx.BeginWrite();
  if (!status.ok()) return status;
  // Binds an unbound RVG, or one an administrator bound to this uuid at
  // create; never moves a bound RVG to another uuid.
  SqlStatement st(db_,
                  "UPDATE rvgs SET uuid = ?, generation = ? "
                  "WHERE name = ? AND (uuid = '' OR uuid = ?) AND generation = ''");
  st.BindText(uuid).BindText(generation).BindText(name).BindText(uuid);
  status = st.Run(what);
  if (status.ok() && sqlite3_changes(db_) == 0) {
    status = RequireRvg(db_, name, what);
    if (status.ok()) {
      status = Status::Error("RVG " + name + " is already bound to another primary", EEXIST);
    }
  }
  if (status.ok()) {
    status = InsertGeneration(db_, name, Generation{generation, 1, "", UnixNow()}, what);
  }
  if (!status.ok()) return status;
  return tx.Commit();
}

Status StateDb::SetRvgPeer(const std::string& name, const std::string& key, bool insecure) {
  SqlStatement st(db_, "UPDATE rvgs SET peer_key = ?, insecure = ? WHERE name = ?");
  st.BindText(key).BindInt(insecure ? 1 : 0).BindText(name);
  return ChangeRvgRow(db_, st, name, "pinning the primary of RVG " + name);
}

Status StateDb::SetDurability(const std::string& name, const std::string& durability) {
  Status status = CheckDurability(durability);
  if (!status.ok()) return status;
  SqlStatement st(db_, "UPDATE rvgs SET durability = ? WHERE name = ?");
  st.BindText(durability).BindText(name);
  return ChangeRvgRow(db_, st, name, "setting durability of RVG " + Printable(name));
}

// ---- RLINKs --------------------------------------------------------------

Status StateDb::AddRlink(const RlinkConfig& rlink) {
  if (rlink.name.empty()) return Status::Error("a secondary needs a name", EINVAL);
  Status status = CheckRlinkAttributes(rlink);
  if (!status.ok()) return status;
  const std::string what =
      "adding secondary " + Printable(rlink.name) + " to RVG " + Printable(rlink.rvg);
  // One statement; the keys say what went wrong.
  SqlStatement st(db_, std::string("INSERT INTO rlinks (") + kRlinkColumns +
                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  st.BindText(rlink.rvg).BindText(rlink.name);
  BindRlinkAttributes(st, rlink);
  st.BindText(rlink.state)
      .BindUint(rlink.sent_seq)
      .BindUint(rlink.net_acked_seq)
      .BindUint(rlink.data_acked_seq)
      .BindText(rlink.peer_key)
      .BindInt(rlink.insecure ? 1 : 0)
      .BindText(rlink.peer_generation)
      .BindReal(rlink.source_wait);
  status = st.Run(what);
  if (st.error_code() == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Status::Error(
        "secondary " + Printable(rlink.name) + " already exists in RVG " + Printable(rlink.rvg),
        EEXIST);
  }
  if (st.error_code() == SQLITE_CONSTRAINT_FOREIGNKEY) return NoRvg(rlink.rvg);
  return status;
}

std::string CompareResyncFlag(const std::string& rlink) { return "checksum_resync:" + rlink; }

Status StateDb::DeleteRlink(const std::string& rvg, const std::string& name) {
  const std::string what = "deleting secondary " + Printable(name) + " of RVG " + Printable(rvg);
  SqlTransaction tx(db_, what);
  Status status = tx.BeginWrite();
  if (!status.ok()) return status;
  SqlStatement rlink(db_, "DELETE FROM rlinks WHERE rvg = ? AND name = ?");
  rlink.BindText(rvg).BindText(name);
  if (status = rlink.Run(what); !status.ok()) return status;
  if (sqlite3_changes(db_) == 0) return MissingRlink(db_, rvg, name, what);
  // Its DCM bitmap goes with it (bitmaps.rlink is not a foreign key).
  SqlStatement bitmaps(db_, "DELETE FROM bitmaps WHERE rvg = ? AND rlink = ?");
  bitmaps.BindText(rvg).BindText(name);
  if (status = bitmaps.Run(what); !status.ok()) return status;
  // And its flag: a later RLINK of the same name must not inherit it.
  if (status = DeleteFlag(db_, rvg, CompareResyncFlag(name), what); !status.ok()) return status;
  return tx.Commit();
}

Result<std::vector<RlinkConfig>> StateDb::ListRlinks(const std::string& rvg) {
  const std::string what = "listing secondaries of RVG " + Printable(rvg);
  SqlTransaction tx(db_, what);
  Status status = tx.BeginRead();
  if (status.ok()) status = RequireRvg(db_, rvg, what);
  if (!status.ok()) return status;
  SqlStatement st(
      db_, std::string("SELECT ") + kRlinkColumns + " FROM rlinks WHERE rvg = ? ORDER BY name");
  st.BindText(rvg);
  std::vector<RlinkConfig> rlinks;
  for (;;) {
    Result<bool> row = st.Step(what);
    if (!row.ok()) return row.status();
    if (!*row) return rlinks;
    Result<RlinkConfig> rlink = RlinkFromRow(st, what);
    if (!rlink.ok()) return rlink.status();
    rlinks.push_back(std::move(*rlink));
  }
}

Result<RlinkConfig> StateDb::GetRlink(const std::string& rvg, const std::string& name) {
  return ReadRlink(db_, rvg, name,
                   "reading secondary " + Printable(name) + " of RVG " + Printable(rvg));
}

Status StateDb::SetRlinkAttribute(const std::string& rvg, const std::string& name,
                                  const std::string& key, const std::string& value) {
  const std::string what = "setting " + Printable(key) + " of secondary " + Printable(name) +
                           " in RVG " + Printable(rvg);
  SqlTransaction tx(db_, what);
  Status status = tx.BeginWrite();
  if (!status.ok()) return status;
  Result<RlinkConfig> rlink = ReadRlink(db_, rvg, name, what);
  if (!rlink.ok()) return rlink.status();
  // Validating the whole RLINK checks a mark against the other one too.
  status = ApplyRlinkAttribute(&*rlink, key, value);
  if (status.ok()) status = CheckRlinkAttributes(*rlink);
  if (!status.ok()) return status;
  SqlStatement st(db_,
                  "UPDATE rlinks SET address = ?, synchronous = ?, sync_ack = ?, ack_timeout = ?, "
                  "latencyprot = ?, latency_high_mark = ?, latency_low_mark = ?, srlprot = ?, "
                  "bandwidth_limit = ?, source_wait = ? WHERE rvg = ? AND name = ?");
  BindRlinkAttributes(st, *rlink);
  st.BindReal(rlink->source_wait).BindText(rvg).BindText(name);
  if (status = st.Run(what); !status.ok()) return status;
  return tx.Commit();
}

Status StateDb::SaveRlinkProgress(const std::string& rvg, const std::string& name,
                                  const std::string& state, uint64_t sent_seq,
                                  uint64_t net_acked_seq, uint64_t data_acked_seq) {
  // Called several times a second: one UPDATE, one commit, a kept statement.
  SqlStatement& st = Cached(
      &save_rlink_progress_,
      "UPDATE rlinks SET state = ?, sent_seq = ?, net_acked_seq = ?, data_acked_seq = ? "
      "WHERE rvg = ? AND name = ?");
  st.BindText(state)
      .BindUint(sent_seq)
      .BindUint(net_acked_seq)
      .BindUint(data_acked_seq)
      .BindText(rvg)
      .BindText(name);
  Status status = st.Run("saving progress of secondary " + Printable(name) + " in RVG " +
                         Printable(rvg));
  st.Reset();
  if (!status.ok()) return status;
  if (sqlite3_changes(db_) != 0) return Status::Ok();
  return MissingRlink(db_, rvg, name,
                      "saving progress of secondary " + Printable(name) + " in RVG " +
                          Printable(rvg));
}

Status StateDb::SetRlinkPeer(const std::string& rvg, const std::string& name,
                             const std::string& key, bool insecure) {
  const std::string what = "pinning secondary " + name + " of RVG " + rvg;
  SqlStatement st(db_, "UPDATE rlinks SET peer_key = ?, insecure = ? WHERE rvg = ? AND name = ?");
  st.BindText(key).BindInt(insecure ? 1 : 0).BindText(rvg).BindText(name);
  Status status = st.Run(what);
  if (!status.ok()) return status;
  return sqlite3_changes(db_) == 0 ? MissingRlink(db_, rvg, name, what) : Status::Ok();
}

// ---- Secondary progress --------------------------------------------------

Status StateDb::SaveAppliedSeq(const std::string& rvg, uint64_t applied_seq) {
  // Called several times a second: one upsert, one commit, a kept statement.
  SqlStatement& st = Cached(&save_applied_seq_,
                            "INSERT INTO secondary_progress (rvg, applied_seq) VALUES (?, ?) "
                            "ON CONFLICT (rvg) DO UPDATE SET applied_seq = excluded.applied_seq");
  st.BindText(rvg).BindUint(applied_seq);
  Status status = st.Run("saving applied_seq of RVG " + Printable(rvg));
  const bool no_rvg = st.error_code() == SQLITE_CONSTRAINT_FOREIGNKEY;
  st.Reset();
  return no_rvg ? NoRvg(rvg) : status;
}

Result<uint64_t> StateDb::AppliedSeq(const std::string& rvg) {
  const std::string what = "reading applied_seq of RVG " + Printable(rvg);
  SqlTransaction tx(db_, what);
  Status status = tx.BeginRead();
  if (status.ok()) status = RequireRvg(db_, rvg, what);
  if (!status.ok()) return status;
  SqlStatement st(db_, "SELECT applied_seq FROM secondary_progress WHERE rvg = ?");
  st.BindText(rvg);
  Result<bool> row = st.Step(what);
  if (!row.ok()) return row.status();
  return *row ? st.Uint(0) : uint64_t{0};
}

}  // namespace rvg
