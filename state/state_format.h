// The format of a state.db file: recognising it, creating the current
// layout (state/schema.h) in a fresh file, and upgrading a file written by
// an older rvg. Internal to StateDb::Open.
//
// The format version is the integer meta.format. A file is "ours" when it
// has a meta table with a format version; anything else — a non-SQLite
// file, another program's database — is refused untouched. A file of a
// newer format than StateDb::kFormatVersion is refused too: an older rvg
// cannot know what the newer one relies on.
#pragma once

#include <string>

#include "core/status.h"

struct sqlite3;

namespace rvg {

// Reads the file's format without writing anything, so that a file that is
// not ours is refused before anything (even WAL mode) touches it. Sets
// *version to 0 for a database without any table (a new file, which only
// state_file.cpp's creation ever opens: StateDb::Open refuses one).
Status ReadStateFormat(sqlite3* db, const std::string& path, int* version);

// Brings the database to StateDb::kFormatVersion in one write transaction:
// creates the layout in a fresh file, or runs every upgrade step from the
// file's format onwards (all or nothing: a failed upgrade leaves the file
// in its old format). The format is read again under the write lock, since
// another process may have created or upgraded the file meanwhile.
Status BringStateToCurrentFormat(sqlite3* db, const std::string& path);

}  // namespace rvg
