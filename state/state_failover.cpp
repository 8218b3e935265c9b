// StateDb's failover state (doc/failover.md): the generation history,
// flags, role changes and the markers rvgd keeps for them. Apart from
// state_db.cpp to keep each file readable.
//
// rvgs.generation always names the newest entry of the RVG's history: every
// method here that changes the history sets it in the same transaction.
#include <sqlite3.h>

#include <functional>
#include <string>

#include "core/text.h"
#include "state/sqlite_statement.h"
#include "state/state_db.h"
#include "state/state_db_rows.h"

namespace rvg {

Status InsertGeneration(sqlite3* db, const std::string& rvg, const Generation& entry,
                        const std::string& what) {
  if (entry.uuid.empty()) return Status::Error("a generation needs a uuid", EINVAL);
  SqlStatement st(db,
                  "INSERT INTO generations (rvg, uuid, start_seq, created_at, parent) "
                  "VALUES (?, ?, ?, ?, ?)");
  st.BindText(rvg)
      .BindText(entry.uuid)
      .BindUint(entry.start_seq)
      .BindInt(entry.created_at)
      .BindText(entry.parent);
  Status status = st.Run(what);
  if (st.error_code() == SQLITE_CONSTRAINT_FOREIGNKEY) return NoRvg(rvg);
  return status;
}

namespace {

Status SetCurrentGeneration(sqlite3* db, const std::string& rvg, const std::string& uuid,
                            const std::string& what) {
  SqlStatement st(db, "UPDATE rvgs SET generation = ? WHERE name = ?");
  st.BindText(uuid).BindText(rvg);
  Status status = st.Run(what);
  if (status.ok() && sqlite3_changes(db) == 0) return NoRvg(rvg);
  return status;
}

Status UpsertFlag(sqlite3* db, const std::string& rvg, const FlagEntry& flag,
                  const std::string& what) {
  if (flag.name.empty()) return Status::Error("a flag needs a name", EINVAL);
  SqlStatement st(db,
                  "INSERT INTO flags (rvg, name, value, set_at, reason) VALUES (?, ?, ?, ?, ?) "
                  "ON CONFLICT (rvg, name) DO UPDATE SET value = excluded.value, "
                  "set_at = excluded.set_at, reason = excluded.reason");
  st.BindText(rvg).BindText(flag.name).BindText(flag.value).BindInt(UnixNow()).BindText(
      flag.reason);
  Status status = st.Run(what);
  if (st.error_code() == SQLITE_CONSTRAINT_FOREIGNKEY) return NoRvg(rvg);
  return status;
}

// Runs a one-row UPDATE of an RVG's row in its own statement.
Status UpdateRvgColumn(sqlite3* db, const char* sql, const std::string& rvg,
                       const std::string& what, const std::function<void(SqlStatement&)>& bind) {
  SqlStatement st(db, sql);
  bind(st);
  st.BindText(rvg);
  Status status = st.Run(what);
  if (status.ok() && sqlite3_changes(db) == 0) return NoRvg(rvg);
  return status;
}

// The whole history replaced by `history` (checked by the caller), its
// newest entry made current; inside the caller's transaction.
Status ReplaceHistory(sqlite3* db, const std::string& rvg, const GenerationHistory& history,
                      const std::string& what) {
  SqlStatement clear(db, "DELETE FROM generations WHERE rvg = ?");
  clear.BindText(rvg);
  Status status = clear.Run(what);
  for (const Generation& g : history) {
    if (status.ok()) status = InsertGeneration(db, rvg, g, what);
  }
  if (status.ok()) status = SetCurrentGeneration(db, rvg, history.back().uuid, what);
  return status;
}

Status DeleteFailbackBitmap(sqlite3* db, const std::string& rvg, const std::string& what) {
  SqlStatement st(db, "DELETE FROM bitmaps WHERE rvg = ? AND rlink = ''");
  st.BindText(rvg);
  return st.Run(what);
}

// `history` (checked) replaces the RVG's, and `also` (may be null) runs,
// in one write transaction.
Status AdoptWith(sqlite3* db, const std::string& rvg, const GenerationHistory& history,
                 const std::string& what, const std::function<Status()>& also) {
  Status status = CheckHistory(history);
  if (!status.ok()) return status.Annotate(what);
  SqlTransaction tx(db, what);
  status = tx.BeginWrite();
  if (status.ok()) status = RequireRvg(db, rvg, what);
  if (status.ok()) status = ReplaceHistory(db, rvg, history, what);
  if (status.ok() && also) status = also();
  if (!status.ok()) return status;
  return tx.Commit();
}

}  // namespace

// ---- Generations ---------------------------------------------------------

Status StateDb::AddGeneration(const std::string& rvg, const Generation& entry) {
  const std::string what =
      "adding generation " + Printable(entry.uuid) + " to RVG " + Printable(rvg);
  SqlTransaction tx(db_, what);
  Status status = tx.BeginWrite();
  if (status.ok()) status = RequireRvg(db_, rvg, what);
  if (status.ok()) status = InsertGeneration(db_, rvg, entry, what);
  if (status.ok()) status = SetCurrentGeneration(db_, rvg, entry.uuid, what);
  if (!status.ok()) return status;
  return tx.Commit();
}

Status StateDb::AdoptHistory(const std::string& rvg, const GenerationHistory& history) {
  return AdoptWith(db_, rvg, history,
                   "adopting the peer's generation history in RVG " + Printable(rvg), nullptr);
}

Result<GenerationHistory> StateDb::Generations(const std::string& rvg) {
  const std::string what = "reading generations of RVG " + Printable(rvg);
  SqlTransaction tx(db_, what);
  Status status = tx.BeginRead();
  if (status.ok()) status = RequireRvg(db_, rvg, what);
  if (!status.ok()) return status;
  SqlStatement st(db_,
                  "SELECT uuid, start_seq, parent, created_at FROM generations WHERE rvg = ? "
                  "ORDER BY rowid");
  st.BindText(rvg);
  GenerationHistory entries;
  for (;;) {
    Result<bool> row = st.Step(what);
    if (!row.ok()) return row.status();
    if (!*row) return entries;
    entries.push_back(Generation{st.Text(0), st.Uint(1), st.Text(2), st.Int(3)});
  }
}

// ---- Flags ---------------------------------------------------------------

Status DeleteFlag(sqlite3* db, const std::string& rvg, const std::string& name,
                  const std::string& what) {
  SqlStatement st(db, "DELETE FROM flags WHERE rvg = ? AND name = ?");
  st.BindText(rvg).BindText(name);
  return st.Run(what);
}

Status StateDb::SetFlag(const std::string& rvg, const std::string& name, const std::string& value,
                        const std::string& reason) {
  return UpsertFlag(db_, rvg, FlagEntry{name, value, 0, reason},
                    "setting flag " + Printable(name) + " of RVG " + Printable(rvg));
}

Status StateDb::ClearFlag(const std::string& rvg, const std::string& name) {
  // Clearing a flag that is not set is not an error; a missing RVG is.
  const std::string what = "clearing flag " + Printable(name) + " of RVG " + Printable(rvg);
  SqlTransaction tx(db_, what);
  Status status = tx.BeginWrite();
  if (status.ok()) status = RequireRvg(db_, rvg, what);
  if (status.ok()) status = DeleteFlag(db_, rvg, name, what);
  if (!status.ok()) return status;
  return tx.Commit();
}

Result<std::vector<FlagEntry>> StateDb::Flags(const std::string& rvg) {
  const std::string what = "reading flags of RVG " + Printable(rvg);
  SqlTransaction tx(db_, what);
  Status status = tx.BeginRead();
  if (status.ok()) status = RequireRvg(db_, rvg, what);
  if (!status.ok()) return status;
  SqlStatement st(db_,
                  "SELECT name, value, set_at, reason FROM flags WHERE rvg = ? ORDER BY name");
  st.BindText(rvg);
  std::vector<FlagEntry> flags;
  for (;;) {
    Result<bool> row = st.Step(what);
    if (!row.ok()) return row.status();
    if (!*row) return flags;
    flags.push_back(FlagEntry{st.Text(0), st.Text(1), st.Int(2), st.Text(3)});
  }
}

// ---- Role changes and markers --------------------------------------------

Status StateDb::ChangeRole(const std::string& rvg, const RoleChange& change) {
  const std::string what = "making RVG " + Printable(rvg) + " " + change.role;
  if (change.role != "primary" && change.role != "secondary") {
    return Status::Error("role must be primary or secondary, not " + Printable(change.role),
                         EINVAL);
  }
  SqlTransaction tx(db_, what);
  Status status = tx.BeginWrite();
  if (!status.ok()) return status;
  status = UpdateRvgColumn(db_, "UPDATE rvgs SET role = ? WHERE name = ?", rvg, what,
                           [&](SqlStatement& st) { st.BindText(change.role); });
  // A secondary is not a primary that could end uncleanly (data_corrupt).
  if (status.ok() && change.role == "secondary") {
    status = UpdateRvgColumn(db_, "UPDATE rvgs SET primary_running = 0 WHERE name = ?", rvg, what,
                             [](SqlStatement&) {});
  }
  if (status.ok() && change.history) {
    // This host's own (a prefix of it): longer than a peer may send.
    if (change.history->empty()) status = Status::Error("internal: " + what + ": empty history");
    if (status.ok()) status = ReplaceHistory(db_, rvg, *change.history, what);
  }
  if (status.ok() && change.generation) {
    status = InsertGeneration(db_, rvg, *change.generation, what);
    if (status.ok()) status = SetCurrentGeneration(db_, rvg, change.generation->uuid, what);
  }
  for (const std::string& name : change.clear_flags) {
    if (status.ok()) status = DeleteFlag(db_, rvg, name, what);
  }
  for (const FlagEntry& flag : change.set_flags) {
    if (status.ok()) status = UpsertFlag(db_, rvg, flag, what);
  }
  if (status.ok() && change.failback_bitmap) {
    status = DeleteFailbackBitmap(db_, rvg, what);
    SqlStatement insert(db_,
                        "INSERT INTO bitmaps (rvg, rlink, volume_id, chunk_index, bits) "
                        "VALUES (?, '', ?, ?, ?)");
    for (const BitmapChunk& chunk : *change.failback_bitmap) {
      if (!status.ok()) break;
      insert.BindText(rvg).BindUint(chunk.volume).BindUint(chunk.index).BindBlob(chunk.bits);
      status = insert.Run(what);
      insert.Reset();
    }
  }
  for (const auto& [rlink, state] : change.rlink_states) {
    if (!status.ok()) break;
    SqlStatement st(db_, "UPDATE rlinks SET state = ? WHERE rvg = ? AND name = ?");
    st.BindText(state).BindText(rvg).BindText(rlink);
    status = st.Run(what);
    if (status.ok() && sqlite3_changes(db_) == 0) {
      status = Status::Error("no RLINK named " + Printable(rlink) + " in RVG " + Printable(rvg),
                             ENOENT);
    }
  }
  if (!status.ok()) return status;
  return tx.Commit();
}

Status StateDb::EndFailback(const std::string& rvg, const GenerationHistory& history) {
  const std::string what = "ending the fast failback of RVG " + Printable(rvg);
  return AdoptWith(db_, rvg, history, what, [&] {
    Status status;
    for (const char* flag : {"failback", "inconsistent"}) {
      if (status.ok()) status = DeleteFlag(db_, rvg, flag, what);
    }
    if (status.ok()) status = DeleteFailbackBitmap(db_, rvg, what);
    return status;
  });
}

Status StateDb::SetMountpoint(const std::string& rvg, const std::string& mountpoint) {
  return UpdateRvgColumn(db_, "UPDATE rvgs SET mountpoint = ? WHERE name = ?", rvg,
                         "recording the mountpoint of RVG " + Printable(rvg),
                         [&](SqlStatement& st) { st.BindText(mountpoint); });
}

Status StateDb::SetPrimaryRunning(const std::string& rvg, bool running) {
  return UpdateRvgColumn(db_, "UPDATE rvgs SET primary_running = ? WHERE name = ?", rvg,
                         "recording whether the primary of RVG " + Printable(rvg) + " runs",
                         [&](SqlStatement& st) { st.BindInt(running ? 1 : 0); });
}

Status StateDb::SaveRlinkPeerGeneration(const std::string& rvg, const std::string& rlink,
                                        const std::string& generation) {
  const std::string what = "recording the generation secondary " + Printable(rlink) +
                           " of RVG " + Printable(rvg) + " accepted";
  SqlStatement st(db_, "UPDATE rlinks SET peer_generation = ? WHERE rvg = ? AND name = ?");
  st.BindText(generation).BindText(rvg).BindText(rlink);
  Status status = st.Run(what);
  if (status.ok() && sqlite3_changes(db_) == 0) {
    return Status::Error("no RLINK named " + Printable(rlink) + " in RVG " + Printable(rvg),
                         ENOENT);
  }
  return status;
}

}  // namespace rvg
