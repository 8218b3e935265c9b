// The role change of a primary that another host replaced (doc/failover.md,
// "Fast failback"): what it becomes — a secondary flagged `failback`,
// holding in its failback bitmap every region it wrote from the fork on, so
// that the new primary rolls exactly those back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/primary_rvg.h"
#include "state/state_db.h"

namespace rvg {

// Why a primary is to step down: the host that replaced it (its RLINK name
// here) and the first seq of that host's line.
struct StepDownCause {
  std::string by;
  uint64_t fork_seq = 0;
  // resolve --discard-local: this host's history up to the generation both
  // sides share, which replaces its own (its generations after the split
  // are thrown away with their writes).
  std::optional<GenerationHistory> history;
};

// The change for RVG `config`, from `engine` (closed: every write it took
// is in its SRL). When the SRL no longer reaches the fork or cannot be
// read, every region is marked, and `note` says so.
RoleChange PlanStepDown(const RvgConfig& config, const PrimaryRvg& engine,
                        const StepDownCause& cause, std::string* note);

}  // namespace rvg
