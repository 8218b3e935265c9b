// Replication attributes of an RLINK (DESIGN.md, `rvgadm set`): which keys
// exist, which values each accepts, and the canonical text stored for a
// value (StateDb stores attributes as given, so they are checked here).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "state/state_db.h"

namespace rvg {

using AttributeList = std::vector<std::pair<std::string, std::string>>;

// Parses KEY=VALUE arguments, checks every key and value, and returns the
// pairs with canonical values (sizes and rates in bytes, "none" as 0), in
// the order given. Also checks that the latency marks that would result
// from applying them to `current` keep low < high. Errors are usage errors
// (code EINVAL).
Result<AttributeList> CheckRlinkAttributes(const RlinkConfig& current,
                                           const std::vector<std::string>& key_values);

// "synchronous, sync_ack, ..." for messages and help.
std::string RlinkAttributeNames();

}  // namespace rvg
