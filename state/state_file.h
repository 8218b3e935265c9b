// state.db on disk: how a new one comes into being, and what an existing
// one must pass before rvg uses it. Internal to StateDb::Open.
//
// A missing state.db is created whole: the current layout is written to a
// private temp file in the same folder, which is then linked into place.
// Invariant: the path names nothing or a complete rvg database, never a
// half-made one left by a crash. So an existing state.db that is empty (0
// bytes, or SQLite without a single table) has been truncated or
// replaced, and is refused, not re-initialised: a fresh layout would
// silently forget every RVG, RLINK and replication progress. A database
// that fails PRAGMA quick_check is refused as damaged. Both errors say to
// restore the file from backup or move it away.
#pragma once

#include <string>

#include "core/status.h"

struct sqlite3;

namespace rvg {

// Creates a complete state database at `path` unless something is there
// already (then OK, whatever it is: the open that follows judges it).
Status CreateStateFileIfMissing(const std::string& path);

// Fails when the existing file at `path` is empty (0 bytes).
Status CheckStateFileNotEmpty(const std::string& path);

// Runs PRAGMA quick_check on `db` (opened on `path`) and fails when it
// finds damage. A file SQLite does not recognise at all passes, for
// ReadStateFormat to refuse as not an rvg database.
Status QuickCheckStateFile(sqlite3* db, const std::string& path);

// The refusal of a state.db with no tables (see the header comment).
Status EmptyStateFile(const std::string& path);

}  // namespace rvg
