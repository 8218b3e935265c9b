#include "state/state_format.h"

#include <sqlite3.h>

#include "state/schema.h"
#include "state/sqlite_statement.h"
#include "state/state_db.h"

namespace rvg {
namespace {

// kUpgrades[i] turns format i + 1 into format i + 2. Each step must leave
// exactly the layout a fresh file of the next format has (see schema.h).
constexpr const char* kUpgrades[] = {
    // 1 -> 2: the SRL's own identity. Format-1 primaries created their SRL
    // with the RVG uuid; format-1 secondaries had no SRL.
    "ALTER TABLE rvgs ADD COLUMN srl_uuid TEXT NOT NULL DEFAULT '';"
    "UPDATE rvgs SET srl_uuid = uuid;",
    // 2 -> 3: pairing keys. Nothing is pinned yet: start refuses until an
    // administrator pins the peer (`rvgadm trust`).
    "ALTER TABLE rvgs ADD COLUMN peer_key TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE rvgs ADD COLUMN insecure INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE rlinks ADD COLUMN peer_key TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE rlinks ADD COLUMN insecure INTEGER NOT NULL DEFAULT 0;",
    // 3 -> 4: failover. Each generation's parent is the row before it.
    "ALTER TABLE generations ADD COLUMN parent TEXT NOT NULL DEFAULT '';"
    "UPDATE generations SET parent = coalesce((SELECT g.uuid FROM generations g "
    "WHERE g.rvg = generations.rvg AND g.rowid < generations.rowid "
    "ORDER BY g.rowid DESC LIMIT 1), '');"
    "ALTER TABLE flags ADD COLUMN reason TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE rvgs ADD COLUMN host TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE rvgs ADD COLUMN mountpoint TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE rvgs ADD COLUMN primary_running INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE rlinks ADD COLUMN peer_generation TEXT NOT NULL DEFAULT '';",
    // 4 -> 5: three hosts. The default wait for the previous source.
    "ALTER TABLE rlinks ADD COLUMN source_wait REAL NOT NULL DEFAULT 600;",
};
static_assert(sizeof(kUpgrades) / sizeof(kUpgrades[0]) == StateDb::kFormatVersion - 1,
              "one upgrade step per format after the first");

Status NotOurs(const std::string& path, const std::string& why) {
  return Status::Error(
      path + " is not an rvg state database (" + why + "): give rvg a home of its own", EINVAL);
}

Status SetFormat(sqlite3* db, bool fresh, const std::string& what) {
  SqlStatement format(db, fresh ? "INSERT INTO meta (key, value) VALUES ('format', ?)"
                                : "UPDATE meta SET value = ? WHERE key = 'format'");
  format.BindInt(StateDb::kFormatVersion);
  return format.Run(what);
}

}  // namespace

Status ReadStateFormat(sqlite3* db, const std::string& path, int* version) {
  const std::string what = "reading state database " + path;
  SqlStatement tables(db,
                      "SELECT count(*), coalesce(sum(name = 'meta'), 0) FROM sqlite_master "
                      "WHERE type = 'table'");
  Result<bool> row = tables.Step(what);
  if (!row.ok()) {
    if ((tables.error_code() & 0xff) == SQLITE_NOTADB) return NotOurs(path, "not an SQLite file");
    return row.status();
  }
  *version = 0;
  if (tables.Int(0) == 0) return Status::Ok();
  if (tables.Int(1) == 0) return NotOurs(path, "an SQLite database without rvg's meta table");

  SqlStatement format(db, "SELECT value FROM meta WHERE key = 'format'");
  row = format.Step(what);
  if (!row.ok()) return row.status();
  int64_t found = *row ? format.Int(0) : 0;
  if (found < 1) return NotOurs(path, "its meta table has no format version");
  if (found > StateDb::kFormatVersion) {
    return Status::Error("state database " + path + " was written by a newer rvg (format " +
                             std::to_string(found) + "; this rvg knows up to " +
                             std::to_string(StateDb::kFormatVersion) + "): upgrade rvg",
                         EINVAL);
  }
  *version = static_cast<int>(found);
  return Status::Ok();
}

Status BringStateToCurrentFormat(sqlite3* db, const std::string& path) {
  std::string what = "creating state database " + path;
  SqlTransaction tx(db, what);
  Status status = tx.BeginWrite();
  if (!status.ok()) return status;
  int version = 0;
  status = ReadStateFormat(db, path, &version);
  if (!status.ok() || version == StateDb::kFormatVersion) return status;
  if (version == 0) {
    status = SqlExec(db, kStateSchemaSql, what);
  } else {
    what = "upgrading state database " + path + " from format " + std::to_string(version) +
           " to " + std::to_string(StateDb::kFormatVersion);
    for (int v = version; status.ok() && v < StateDb::kFormatVersion; ++v) {
      status = SqlExec(db, kUpgrades[v - 1], what);
    }
  }
  if (status.ok()) status = SetFormat(db, version == 0, what);
  if (!status.ok()) return status;
  return tx.Commit();
}

}  // namespace rvg
