// SessionLossRotation: rvgd's GenerationRotator (core/generation_rotator.h,
// doc/failover.md "Generations").
//
// A secondary "has seen the current generation" from the moment it
// welcomes a session in it (RlinkSender's peer_accepted, after the session
// is up) — or, at start, when state.db's rlinks.peer_generation says it
// did. A rotation is due while such a secondary has no session. Rotating
// appends the generation to state.db, extends the primary's
// GenerationLine (which makes every sender start a new session announcing
// it); nobody has seen the new generation, so further session losses
// rotate nothing until a secondary welcomes a session again. Any new
// generation (force-online too) voids every "seen": it is kept as the
// GenerationLine version it holds for.
//
// Thread-safety: PeerAccepted() from sender threads, RotationDue() and
// Rotate() from the engine's write leader.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "cli/rvgd/daemon.h"
#include "core/generation_line.h"
#include "core/generation_rotator.h"
#include "core/rlink_set.h"

namespace rvg {

class SessionLossRotation : public GenerationRotator {
 public:
  // `peer_generations[i]`: what state.db says RLINK i's peer last accepted.
  SessionLossRotation(SharedStateDb* db, std::string rvg, std::shared_ptr<GenerationLine> line,
                      std::shared_ptr<RlinkSet> rlinks,
                      const std::vector<std::string>& peer_generations);

  // RLINK i's secondary welcomed a session in `generation`.
  void PeerAccepted(size_t i, const std::string& generation);

  bool RotationDue() override;
  Status Rotate(uint64_t start_seq) override;

 private:
  SharedStateDb* const db_;
  const std::string rvg_;
  const std::shared_ptr<GenerationLine> line_;
  const std::shared_ptr<RlinkSet> rlinks_;
  // seen_[i]: 1 + the line version at which RLINK i's secondary had seen
  // the current generation; 0 = never.
  std::unique_ptr<std::atomic<uint64_t>[]> seen_;
  bool Seen(size_t i) const { return seen_[i].load() == line_->version() + 1; }
  const size_t count_;
};

}  // namespace rvg
