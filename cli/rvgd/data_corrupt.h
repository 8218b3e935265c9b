// DataCorruptGate: SIOS DataKeeper's data_corrupt for a running primary
// (doc/failover.md, "data_corrupt and force-online").
//
// A primary whose previous run did not end with a clean stop (SIGKILL, a
// crash, a power cut: rvgs.primary_running was still set) cannot know
// whether a secondary took over meanwhile. Writes taken now could be
// thrown away by that secondary's line, or fork from it unnoticed, so it
// flags `data_corrupt` and serves reads only (writes fail with EROFS)
// until either
//   - a secondary welcomes a session: by the generation rule table it
//     holds nothing newer than this primary (a newer primary would have
//     refused us, and the host would step down instead), or
//   - the administrator runs `rvgadm force-online`, which begins a new
//     generation: a secondary that did take over meets a split brain at
//     the next handshake, not a silent rollback of either side.
// A primary without RLINKs has no one to be replaced by and is never held.
// The flag survives restarts until one of the two ends it.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "cli/rvgd/daemon.h"
#include "core/generation_line.h"
#include "core/primary_rvg.h"

namespace rvg {

class DataCorruptGate {
 public:
  DataCorruptGate(SharedStateDb* db, std::string rvg, PrimaryRvg* engine,
                  std::shared_ptr<GenerationLine> line)
      : db_(db), rvg_(std::move(rvg)), engine_(engine), line_(std::move(line)) {}

  // At start, before the volumes are mounted: `was_running` is
  // rvgs.primary_running as this primary found it. Holds writes back when
  // the RVG has RLINKs and either the last run ended uncleanly or the flag
  // is still set.
  Status Open(bool was_running, bool has_rlinks);
  // Once the volumes are mounted (writes can come): until CleanStop(), an
  // end of rvgd counts as unclean.
  Status Serving();
  // A secondary (RLINK `rlink`) welcomed a session.
  void SecondaryAnswered(const std::string& rlink);
  // rvgadm force-online: the line goes on under a new generation from the
  // next seq. A note (nothing to do) when not held.
  Result<std::string> ForceOnline();
  // The primary stopped cleanly: the next start is not held back.
  void CleanStop();
  bool held() const;

 private:
  Status HeldStatus() const;

  SharedStateDb* const db_;
  const std::string rvg_;
  PrimaryRvg* const engine_;
  const std::shared_ptr<GenerationLine> line_;
  mutable std::mutex mu_;
  bool held_ = false;  // guarded by mu_
};

}  // namespace rvg
