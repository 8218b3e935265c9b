// Helpers shared by the files that implement StateDb (state_db.cpp,
// state_bitmaps.cpp, state_failover.cpp): the errors every method gives for a missing RVG or a
// row rvg cannot use. Internal to state/; not part of StateDb's interface.
#pragma once

#include <cstdint>
#include <string>

#include "core/generation_history.h"
#include "core/status.h"

struct sqlite3;

namespace rvg {

// "no RVG named X", ENOENT.
Status NoRvg(const std::string& rvg);

// A row that rvg would never have written: a hand edit, damage, or a
// newer rvg's data. It is refused rather than acted on (a role that is
// neither primary nor secondary, a volume id cut down to 32 bits, ...).
Status DamagedRow(const std::string& what, const Status& problem);

// OK if the RVG exists, NoRvg if not, the SQLite error (`what: ...`) if the
// look-up failed. Runs in the caller's transaction, if any.
Status RequireRvg(sqlite3* db, const std::string& rvg, const std::string& what);

// Unix seconds now, for the set_at and created_at columns.
int64_t UnixNow();

// Appends one row to the generation history (state_failover.cpp); the
// caller's transaction, if any. Does not touch rvgs.generation.
Status InsertGeneration(sqlite3* db, const std::string& rvg, const Generation& entry,
                        const std::string& what);

// Removes flag `name` of the RVG (none set: not an error); the caller's
// transaction, if any.
Status DeleteFlag(sqlite3* db, const std::string& rvg, const std::string& name,
                  const std::string& what);

}  // namespace rvg
