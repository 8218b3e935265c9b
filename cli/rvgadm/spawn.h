// Finding the rvgd executable and starting it, in the background with a
// readiness handshake or in the foreground.
//
// The handshake: rvgd gets `--ready-fd N`, the write end of a pipe, and
// writes exactly one line to it once it serves (mount live, sockets bound):
// "ok", or "error: MESSAGE" if it could not start. rvgadm returns when the
// line arrives; end of file without a line means rvgd died while starting.
#pragma once

#include <string>

#include "core/status.h"

namespace rvg {

// Where rvgd is: $RVGD if set; else `rvgd` beside rvgadm's own executable
// (an installation); else ../rvgd/rvgd relative to it (the meson build
// tree); else the first `rvgd` on PATH.
Result<std::string> FindRvgd();

// The first executable `name` in PATH's directories (a default PATH when
// unset); "" when none.
std::string FindOnPath(const std::string& name);

struct DaemonLaunch {
  std::string rvgd;      // executable
  std::string home;      // --home
  std::string rvg;
  std::string mount;     // --mount, "" for none
  std::string metrics;   // --metrics ADDR:PORT, "" for none
  std::string log_path;  // background only: rvgd's stdout and stderr
};

// Starts rvgd detached from this terminal (own session, stdin /dev/null,
// output appended to the log) and waits for its ready line. OK once rvgd
// says "ok"; otherwise an error with rvgd's message or a pointer to the log.
Status LaunchDaemon(const DaemonLaunch& launch);

// Replaces this process with rvgd (no --ready-fd, terminal kept). Returns
// only if exec fails.
Status ExecDaemon(const DaemonLaunch& launch);

}  // namespace rvg
