// RollBackStoppedSecondary: takes a stopped secondary back to the
// consistent copy it had before an unfinished bitmap resync, from its undo
// area (undo_area.h, doc/resync.md). What `rvgadm rollback` runs.
//
// It recovers the secondary as SecondaryApplier::Start() would — the SRL
// recovered and replayed with the persisted applied_seq as its floor, then
// the undo area recovered against the applied seq and the consistency flag
// — and then calls UndoArea::RollBack. While an undo area exists the SRL
// holds no record (the applier checkpoints before the first region and
// applies no ordered write until the resync ends), so the replay only
// finds the applied seq; its images are the copy at that seq once the
// rollback is done.
#pragma once

#include "core/secondary_applier.h"
#include "core/srl.h"
#include "core/status.h"
#include "core/undo_area.h"
#include "core/volume_set.h"

namespace rvg {

// Borrows everything; `srl` is opened and not yet recovered, and nothing
// else may use these files meanwhile (rvgd stopped, files locked). Fails
// with ENOENT, saying whether the images are consistent, when there is no
// undo area to roll back.
Result<UndoSummary> RollBackStoppedSecondary(VolumeSet* volumes, Srl* srl, AppliedSeqStore* store,
                                             UndoArea* undo);

}  // namespace rvg
