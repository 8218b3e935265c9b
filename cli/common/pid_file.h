// PidFile: HOME/run/RVG.pid, which says whether an rvgd serves an RVG and
// which process it is.
//
// The lock, not the file's existence, says whether an rvgd runs: the
// holder keeps an exclusive flock on it for its lifetime, so a SIGKILLed
// daemon leaves the file but not the lock. Invariants that make "one
// daemon per RVG" hold however starts race:
//   - the file is never unlinked (a release empties it instead): a daemon
//     that unlinked it would let a second one, which opened the old inode
//     before the unlink, lock that orphan while a third creates and locks
//     a new file at the path — two daemons;
//   - after locking, Acquire checks that the locked inode is still the one
//     at the path (someone may have deleted it by hand) and starts over if
//     not, so the lock held is always the lock on the path.
#pragma once

#include <string>

#include "core/status.h"

namespace rvg {

class PidFile {
 public:
  PidFile() = default;
  ~PidFile();  // releases: empties the file, then drops the lock
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

  // Creates `path` if missing (mode 0644), locks it and writes this
  // process's pid. Fails with EWOULDBLOCK, naming the holder's pid, while
  // another process (or another PidFile here) holds it.
  Status Acquire(const std::string& path);

 private:
  std::string path_;
  int fd_ = -1;
};

// The pid recorded in the pid file at `path`; 0 if none (no file, empty
// after a clean stop, or garbage).
int ReadPidFile(const std::string& path);

}  // namespace rvg
