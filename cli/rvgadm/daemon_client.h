// rvgadm's side of the control channel: whether rvgd serves an RVG in this
// home, and requests to it whose error replies become Status errors.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cli/common/home.h"
#include "core/status.h"

namespace rvg {

// How long "is rvgd running?" waits: rvgd answers pings between other
// requests, so a live daemon replies well within this.
constexpr int kPingTimeoutMs = 300;

struct DaemonState {
  bool running = false;
  bool answering = false;  // running and answered the ping
  int pid = 0;             // 0 when unknown
};

// Pings rvgd for `rvg`. rvgd answers pings during a drain, but one busy
// with a long request on its serving thread (a stop that unmounts) may
// not; it still counts as running when the home's pid file names a live
// rvgd process.
// "Not running" is a normal answer; an error means the question could not
// be asked (e.g. a socket path too long).
Result<DaemonState> ProbeDaemon(const Home& home, const std::string& rvg);

// OK when no rvgd serves `rvg`; otherwise an error telling the
// administrator to stop it first. Used before editing state.db directly.
Status RequireStopped(const Home& home, const std::string& rvg);

// OK when rvgd serves `rvg`; otherwise an error telling the administrator
// to start it. Used before requests that only a running daemon can answer.
Status RequireRunning(const Home& home, const std::string& rvg);

// For edits of state.db that rvgd reads only at start: when it runs, a
// note on stderr that the change takes effect at its next start.
void NoteIfRunning(const Home& home, const std::string& rvg);

// Whether process `pid` exists and is not a zombie (a harness that
// started rvgd itself may not have reaped it yet).
bool ProcessAlive(int pid);

// Sends `request` and returns the reply when it says "ok": true. A reply
// with "ok": false becomes an error carrying rvgd's message.
Result<nlohmann::json> AskDaemon(const Home& home, const std::string& rvg,
                                 const nlohmann::json& request, int timeout_ms);

}  // namespace rvg
