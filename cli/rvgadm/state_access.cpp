#include "cli/rvgadm/state_access.h"

#include <unistd.h>

#include <algorithm>

namespace rvg {

namespace {

Status NoSuchRvg(const Home& home, const std::string& rvg) {
  return Status::Error("no RVG named " + rvg + " in " + home.dir() +
                           "; check --home (or RVG_HOME), or create it with rvgadm create " + rvg,
                       ENOENT);
}

}  // namespace

Result<std::unique_ptr<StateDb>> OpenStateForCreate(const Home& home) {
  Status status = home.Prepare();
  if (!status.ok()) return status;
  Result<std::unique_ptr<StateDb>> db = StateDb::Open(home.StateDbPath());
  if (!db.ok()) return db.status().Annotate("opening " + home.StateDbPath());
  return db;
}

Result<std::unique_ptr<StateDb>> OpenExistingState(const Home& home, const std::string& rvg) {
  if (::access(home.StateDbPath().c_str(), F_OK) != 0) return NoSuchRvg(home, rvg);
  Status status = home.CheckPrivate();
  if (!status.ok()) return status;
  Result<std::unique_ptr<StateDb>> db = StateDb::Open(home.StateDbPath());
  if (!db.ok()) return db.status().Annotate("opening " + home.StateDbPath());
  return db;
}

Result<bool> RvgExists(StateDb& db, const std::string& rvg) {
  Result<std::vector<std::string>> names = db.ListRvgs();
  if (!names.ok()) return names.status();
  return std::find(names->begin(), names->end(), rvg) != names->end();
}

Result<RvgConfig> LoadRvg(StateDb& db, const Home& home, const std::string& rvg) {
  Result<bool> exists = RvgExists(db, rvg);
  if (!exists.ok()) return exists.status();
  if (!*exists) return NoSuchRvg(home, rvg);
  return db.GetRvg(rvg);
}

}  // namespace rvg
