// Checks of RVG and RLINK configuration as administrators give it, so that
// StateDb never stores a value the rest of rvg cannot act on and rvgadm
// stays a thin layer. Every error is one line that quotes the bad value
// (escaped where it is not printable, core/text.h) and says what was
// expected, e.g.
//   invalid value "x" for synchronous: expected off, override or fail
#pragma once

#include <string>

#include "core/status.h"
#include "state/state_db.h"

namespace rvg {

// The name (it becomes a file name and a command argument), role,
// durability, SRL (path and srl_uuid set), region size and volumes (ids
// non-zero and distinct, names file names, sizes non-zero) of a new RVG.
Status CheckRvgConfig(const RvgConfig& config);

// The same checks for an RVG read back from state.db, where a hand edit or
// damage may have put anything, except that a secondary without an SRL is
// accepted: format-1 secondaries have none, rvgd refuses to start them with
// its own message, and rvgadm must still show and delete them.
Status CheckStoredRvg(const RvgConfig& config);

// "flush" or "strict".
Status CheckDurability(const std::string& durability);

// Every replication attribute of an RLINK (DESIGN.md), including
// latency_low_mark < latency_high_mark. Ignores identity and progress.
Status CheckRlinkAttributes(const RlinkConfig& rlink);

// Sets one attribute from its `rvgadm set KEY=VALUE` text form: address,
// synchronous, sync_ack, ack_timeout (seconds), latencyprot,
// latency_high_mark, latency_low_mark (counts of writes), srlprot,
// bandwidth_limit (bytes/s, or "none" for 0). Fails on an unknown key or a
// number that does not parse; leaves the choice checks to
// CheckRlinkAttributes, which callers run on the result.
Status ApplyRlinkAttribute(RlinkConfig* rlink, const std::string& key, const std::string& value);

}  // namespace rvg
