// Opening this host's state.db from rvgadm, and looking up an RVG in it
// with errors that say which home was searched.
#pragma once

#include <memory>
#include <string>

#include "cli/common/home.h"
#include "core/status.h"
#include "state/state_db.h"

namespace rvg {

// For commands that create things: prepares the home, then opens (or
// creates) state.db.
Result<std::unique_ptr<StateDb>> OpenStateForCreate(const Home& home);

// For every other command: a home without state.db holds no RVG, and is
// not created as a side effect of asking.
Result<std::unique_ptr<StateDb>> OpenExistingState(const Home& home, const std::string& rvg);

// The RVG's configuration; a missing RVG is an error naming the home.
Result<RvgConfig> LoadRvg(StateDb& db, const Home& home, const std::string& rvg);

// Whether an RVG of that name exists.
Result<bool> RvgExists(StateDb& db, const std::string& rvg);

}  // namespace rvg
