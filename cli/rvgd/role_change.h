// Role changes of a running rvgd (doc/failover.md, "Role changes inside
// rvgd"): the role daemon in charge stops, state.db takes the change in
// one transaction, and a daemon of the new role starts, in the same
// process — pid file, control socket and log stay.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "cli/rvgd/daemon.h"

namespace rvg {

// `rvgadm takeover`: {"cmd": "takeover", "force": bool, "mount": DIR?}.
// On success `*daemon` is the new primary, mounted, and the reply says the
// generation, its first seq and the mount. An error that leaves the old
// daemon serving is only a refusal; when the old role was already stopped
// `*fatal` is set and rvgd must exit (state.db says what it is now, and
// `rvgadm start` brings it back).
Result<nlohmann::json> TakeOverRole(const nlohmann::json& request, DaemonContext* ctx,
                                    std::unique_ptr<Daemon>* daemon, bool* fatal);

// A primary that another host replaced becomes its secondary
// (Daemon::StepDown, doc/failover.md "Fast failback"). A busy mount
// refuses and leaves the primary serving, fenced; `*fatal` as above.
Status StepDownRole(DaemonContext* ctx, std::unique_ptr<Daemon>* daemon, bool* fatal);

// `rvgadm migrate`, on the primary: {"cmd": "migrate", "rlink": SEC,
// "mount": DIR?, "timeout": S?}. On success `*daemon` is this host's
// secondary role and the reply says SEC's generation and first seq. A
// refusal before the unmount changes nothing; a failure after it starts
// the primary role again (mounted); a HANDOVER that got no answer leaves
// this host a secondary and is an error saying so. `*fatal` as above.
Result<nlohmann::json> MigrateRole(const nlohmann::json& request, DaemonContext* ctx,
                                   std::unique_ptr<Daemon>* daemon, bool* fatal);

// The secondary's side of migrate, after its receiver accepted a HANDOVER
// (DaemonContext::handover_wanted): it becomes primary and mounts.
Status TakeHandoverRole(DaemonContext* ctx, std::unique_ptr<Daemon>* daemon, bool* fatal);

}  // namespace rvg
