// ReplaySrl: the crash recovery that every SRL owner does on start, primary
// or secondary: recover the log and redo every record it holds onto the
// images, in seq order, then sync the images.
//
// Why redo is safe: each owner writes a record to its images only after the
// record is synced in the SRL, and moves the SRL tail past a record only
// after the images holding it are synced. So whatever a crash left on the
// images beyond the last checkpoint comes from records the recovered log
// still holds, and replaying them in order (writes are idempotent once
// ordered) yields exactly "checkpointed images + recovered log".
#pragma once

#include <cstdint>
#include <functional>

#include "core/record.h"
#include "core/srl.h"
#include "core/status.h"
#include "core/volume_set.h"

namespace rvg {

struct SrlReplayResult {
  uint64_t first_seq = 0;  // first record replayed (0 when none)
  uint64_t records = 0;    // how many were replayed
};

// Calls srl->Recover() with `durable_seq` (see srl.h: a log that ends at or
// below it is damage, and this fails naming the record), writes each
// record to `volumes` — a record outside them means the SRL belongs to
// another volume layout, which is an error — and calls `on_record` after
// each write (may be empty). Once everything is written, syncs the images.
// Records below `redo_from` are recovered (checked, chained) but not
// written: the caller knows the images hold them durably (a secondary's
// persisted applied_seq). On success the Srl is ready to append at
// srl->next_seq().
Result<SrlReplayResult> ReplaySrl(Srl* srl, VolumeSet* volumes, uint64_t durable_seq,
                                  const std::function<void(const WriteRecord&)>& on_record = {},
                                  uint64_t redo_from = 0);

}  // namespace rvg
