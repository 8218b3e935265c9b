// SecondaryStore: what a secondary persists in state.db for its applier —
// applied_seq and the "inconsistent" flag (core/secondary_applier.h's
// AppliedSeqStore) — shared by rvgd and by rvgadm commands that work on a
// stopped secondary (rollback), so both read and write them the same way.
//
// The flag: status shows consistent: false, and a takeover will need
// --force, exactly while it is set — from the first region of a bitmap
// resync until the resync ends or is rolled back.
//
// A fast failback (doc/failover.md) ends with a resync whose end makes
// this host a copy of the new primary's line: the receiver arms the store
// with that line's history (ArmFailbackEnd) as it hands the end to the
// applier, and the applier's SaveConsistency(true) after the end is
// durable then records it all in one transaction (StateDb::EndFailback)
// and calls `ended`. A session that ends first disarms it.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "cli/common/home.h"
#include "core/secondary_applier.h"
#include "core/undo_area.h"
#include "state/state_db.h"

namespace rvg {

class SecondaryStore : public AppliedSeqStore {
 public:
  // Runs `fn` on the state database, serialized with its other users (rvgd
  // shares one StateDb between threads); returns what `fn` returns.
  using Runner = std::function<Status(const std::function<Status(StateDb&)>& fn)>;

  SecondaryStore(std::string rvg, Runner run) : rvg_(std::move(rvg)), run_(std::move(run)) {}

  // SQLite reports a lock held past its busy timeout as EBUSY, which the
  // applier retries.
  Status SaveAppliedSeq(uint64_t applied_seq) override;
  Result<uint64_t> LoadAppliedSeq() override;
  Status SaveConsistency(bool consistent) override;
  Result<bool> LoadConsistency() override;

  void ArmFailbackEnd(GenerationHistory history,
                      std::function<void(const GenerationHistory&)> ended);
  void DisarmFailbackEnd();

 private:
  const std::string rvg_;
  const Runner run_;
  std::mutex mu_;  // the armed end: the receiver arms, the applier fires
  std::optional<GenerationHistory> failback_end_;
  std::function<void(const GenerationHistory&)> ended_;
};

// Whether `flags` hold "inconsistent".
bool FlaggedInconsistent(const std::vector<FlagEntry>& flags);

// The undo area of a stopped secondary, for status: read only, shown only
// while the secondary is inconsistent (otherwise a file there is a
// leftover the next start removes). nullopt when there is none or it
// cannot be read.
std::optional<UndoSummary> StoredUndo(const Home& home, const RvgConfig& config, bool consistent);

}  // namespace rvg
