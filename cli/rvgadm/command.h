// The commands of rvgadm: what every command function gets and returns,
// and the list of them (the dispatch table lives in rvgadm_main.cpp).
//
// A command function returns the process exit code: kExitOk, kExitFailure
// (after printing "rvgadm: error: ..."), or kExitUsage (after printing
// "rvgadm: usage: ..."). Output for people goes to stdout; with --json,
// commands that report something print one JSON document instead.
#pragma once

#include <string>

#include "cli/common/home.h"
#include "cli/rvgadm/command_line.h"
#include "core/status.h"

namespace rvg {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct Context {
  Home home;
  bool json = false;
  const CommandSpec* spec = nullptr;  // the running command, for usage errors
};

using CommandFunction = int (*)(const Context& context, const ParsedArgs& args);

struct Command {
  CommandSpec spec;
  std::string summary;  // one line for --help
  CommandFunction run;
};

// cmd_create.cpp: creating and deleting an RVG on this host.
int RunCreate(const Context& context, const ParsedArgs& args);
int RunDelete(const Context& context, const ParsedArgs& args);
// cmd_rlinks.cpp: RLINKs and their attributes, edited in state.db.
int RunAddsec(const Context& context, const ParsedArgs& args);
int RunDelsec(const Context& context, const ParsedArgs& args);
int RunSet(const Context& context, const ParsedArgs& args);
// cmd_keys.cpp: this host's CURVE key pair and the peers it trusts.
int RunPubkey(const Context& context, const ParsedArgs& args);
int RunTrust(const Context& context, const ParsedArgs& args);
// cmd_lifecycle.cpp: starting and stopping rvgd.
int RunStart(const Context& context, const ParsedArgs& args);
int RunStop(const Context& context, const ParsedArgs& args);
// cmd_query.cpp: asking rvgd (or state.db when it is stopped).
int RunStatus(const Context& context, const ParsedArgs& args);
int RunList(const Context& context, const ParsedArgs& args);
int RunMetrics(const Context& context, const ParsedArgs& args);
int RunEvents(const Context& context, const ParsedArgs& args);
int RunStats(const Context& context, const ParsedArgs& args);
int RunDrain(const Context& context, const ParsedArgs& args);
int RunFlags(const Context& context, const ParsedArgs& args);
// cmd_rollback.cpp: undoing an unfinished resync on a stopped secondary.
int RunRollback(const Context& context, const ParsedArgs& args);
// cmd_lifecycle.cpp: the absolute mountpoint for --mount TEXT, created if
// missing; an existing non-directory is an error.
Result<std::string> PrepareMountpoint(const std::string& text);
// cmd_failover.cpp: role changes (doc/failover.md).
int RunTakeover(const Context& context, const ParsedArgs& args);
int RunForceOnline(const Context& context, const ParsedArgs& args);
int RunResolve(const Context& context, const ParsedArgs& args);
int RunMigrate(const Context& context, const ParsedArgs& args);
// cmd_replication.cpp, cmd_verify.cpp: replication on one RLINK.
int RunPauserep(const Context& context, const ParsedArgs& args);
int RunResumerep(const Context& context, const ParsedArgs& args);
int RunStoprep(const Context& context, const ParsedArgs& args);
int RunStartrep(const Context& context, const ParsedArgs& args);
int RunVerify(const Context& context, const ParsedArgs& args);
int RunResync(const Context& context, const ParsedArgs& args);

// Asks the running rvgd to act on RLINK `sec` (an action of
// Daemon::ControlRlink: "pause", "resume", "reload", "resync", ...).
// RlinkAction returns rvgd's note ("" when none: the request did
// something; else why there was nothing to do).
Status RlinkRequest(const Home& home, const std::string& rvg, const std::string& sec,
                    const std::string& action);
Result<std::string> RlinkAction(const Home& home, const std::string& rvg, const std::string& sec,
                                const std::string& action);

}  // namespace rvg
