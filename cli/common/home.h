// Home: where one host's rvg state lives, and the names of the files in it.
//
// Every command takes --home DIR (env RVG_HOME). Default: /var/lib/rvg as
// root, ${XDG_STATE_HOME:-~/.local/state}/rvg otherwise. Two homes on one
// machine are two hosts.
//
//   HOME/state.db          SQLite state (StateDb)
//   HOME/run/RVG.ctl       rvgd's control socket (ipc://)
//   HOME/run/RVG.pid       rvgd's pid while it runs
//   HOME/log/RVG.log       rvgd's log
//   HOME/RVG.undo          a secondary's resync undo area, while one exists
//                          (core/undo_area.h; doc/resync.md, "Undo area")
#pragma once

#include <string>

#include "core/status.h"

namespace rvg {

class Home {
 public:
  // `explicit_dir` is --home ("" if not given); falls back to RVG_HOME, then
  // the default above. Does not touch the filesystem.
  static Home Resolve(const std::string& explicit_dir);

  // Creates HOME, HOME/run and HOME/log (mode 0700) if missing, then
  // CheckPrivate().
  Status Prepare() const;

  // Refuses a home that another user could tamper with: HOME, and HOME/run
  // and HOME/log where they exist, must be directories owned by the
  // effective uid and writable by nobody else (the error says which chmod
  // or chown fixes it). HOME itself must exist.
  Status CheckPrivate() const;

  const std::string& dir() const { return dir_; }
  std::string StateDbPath() const;
  std::string ControlEndpoint(const std::string& rvg) const;  // "ipc://..."
  std::string PidPath(const std::string& rvg) const;
  std::string LogPath(const std::string& rvg) const;
  std::string UndoPath(const std::string& rvg) const;

 private:
  explicit Home(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace rvg
