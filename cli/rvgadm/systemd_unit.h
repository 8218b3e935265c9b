// Whether rvgadm start and stop go through rvgd@.service, the systemd
// template unit (packaging/systemd/rvgd@.service.in), and running
// systemctl for it.
//
// An RVG the unit may run must be started and stopped through it: rvgd
// started beside systemd's back is a process systemd does not know, so the
// unit shows "inactive", the unit's own start would race it, and nothing
// restarts it after a crash. The unit runs rvgd for the home /var/lib/rvg
// only, so other homes (and non-root users) keep starting rvgd directly.
#pragma once

#include <string>

#include "cli/common/home.h"
#include "core/status.h"

namespace rvg {

// True when start/stop of an RVG in `home` go through the unit: the
// effective uid is 0, the system was booted with systemd, `home` is the
// unit's home (real paths compared) and rvgd@.service is installed.
//
// Environment:
//   RVG_SYSTEMD=0   never the unit (rvgd started directly);
//   RVG_SYSTEMD=1   the unit even when sd_booted() says no (a container
//                   whose systemd check misleads; the tests);
//   RVG_UNIT_HOME   the unit's home instead of /var/lib/rvg, and
//   RVG_UNIT_PATH   colon-separated directories to look for rvgd@.service
//                   in instead of systemd's (tests, unusual installs).
// Any other value of RVG_SYSTEMD is an error.
Result<bool> UseUnit(const Home& home);

// "rvgd@RVG.service".
std::string UnitName(const std::string& rvg);

// Runs `systemctl VERB rvgd@RVG.service` (systemctl found on PATH; no
// shell) and waits for it. systemd starts a Type=notify unit only once
// rvgd sent READY=1, so after "start" returns OK rvgd serves. A failure is
// one line: systemctl's first line of output and where the log is.
Status Systemctl(const std::string& verb, const std::string& rvg);

}  // namespace rvg
