#include "core/secondary_rollback.h"

#include <fmt/format.h>

#include "core/srl_replay.h"

namespace rvg {

Result<UndoSummary> RollBackStoppedSecondary(VolumeSet* volumes, Srl* srl, AppliedSeqStore* store,
                                             UndoArea* undo) {
  Result<uint64_t> persisted = store->LoadAppliedSeq();
  if (!persisted.ok()) return persisted.status().Annotate("reading the persisted applied_seq");
  Result<SrlReplayResult> replay = ReplaySrl(srl, volumes, *persisted);
  if (!replay.ok()) return replay.status();
  const uint64_t applied = srl->next_seq() - 1;
  Result<bool> consistent = store->LoadConsistency();
  if (!consistent.ok()) return consistent.status().Annotate("reading the consistency flag");
  bool flag = *consistent;
  Status st = undo->Recover(applied, &flag, [store] { return store->SaveConsistency(true); });
  if (!st.ok()) return st;
  if (!undo->active()) {
    if (flag) {
      return Status::Error(fmt::format("there is no undo area to roll back: the images are a "
                                       "consistent copy at seq {}",
                                       applied),
                           ENOENT);
    }
    return Status::Error(fmt::format("there is no undo area to roll back: the images are "
                                     "inconsistent (a resync began while they were inconsistent "
                                     "already, or empty, e.g. the first full sync, so nothing "
                                     "was kept); only a finished resync makes them consistent"),
                         ENOENT);
  }
  return undo->RollBack(volumes, [store] { return store->SaveConsistency(true); });
}

}  // namespace rvg
