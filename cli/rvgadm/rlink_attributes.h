// Replication attributes of an RLINK as `rvgadm addsec` and `rvgadm set`
// take them (KEY=VALUE, DESIGN.md's names). The rules for keys and values
// live in state/config_check.h; this adds what an administrator may type
// beyond what state.db stores (size suffixes on bandwidth_limit) and the
// order in which StateDb can apply a batch one attribute at a time.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "state/state_db.h"

namespace rvg {

using AttributeList = std::vector<std::pair<std::string, std::string>>;

// Parses and checks KEY=VALUE arguments against `current` (the RLINK as it
// is now), as one batch: the marks may move together past each other. The
// result holds the values in the form StateDb stores and is ordered so that
// setting them one by one never passes through an invalid RLINK. Errors
// are usage errors (code EINVAL).
Result<AttributeList> PrepareRlinkAttributes(const RlinkConfig& current,
                                             const std::vector<std::string>& key_values);

}  // namespace rvg
