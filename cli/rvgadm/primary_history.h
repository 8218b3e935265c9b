// Whether a new RLINK can catch up from its primary's SRL, or needs a full
// sync from the start.
//
// A new secondary starts with zeroed images at seq 0, and an RLINK added
// with nothing more is replicated from seq 1 on. That holds only while the
// primary's history is all in its SRL and its images held nothing else:
// once the SRL no longer starts at seq 1 (checkpoints release records the
// moment no RLINK needs them, so on a primary that ran without
// secondaries, every write is gone from it), the first session finds the
// secondary behind the SRL's tail, and an image adopted by `create` (an
// existing file of the right size is taken with its contents) holds data
// that no record will ever carry. Before, addsec on such a primary made an
// RLINK that looked like any other until its first session turned it
// stale — or, for adopted images, one that silently never became a copy.
// Now addsec asks here and adds the RLINK stale: `startrep --full` is the
// way in, as in VVR (an initial sync before replication).
#pragma once

#include <string>

#include "core/status.h"
#include "state/state_db.h"

namespace rvg {

// Why a new RLINK of this (stopped) primary needs a full sync, or "" when
// it can catch up from seq 1: the SRL holds records or has moved past seq
// 1, or an image has blocks allocated (data written before or since
// create). Opens and recovers the SRL read-only in effect (it locks it, so
// a running rvgd makes this fail).
Result<std::string> NewRlinkNeedsFullSync(const RvgConfig& config);

}  // namespace rvg
