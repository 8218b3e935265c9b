// rvgadm pauserep and resumerep: hold replication to one secondary and let
// it go again; stoprep, startrep and resync (with --wait, followed to the
// end: transfer_wait.h). With rvgd running the request goes to its RLINK state
// machine (which persists the change before answering); with rvgd stopped
// the state is edited in state.db, and rvgd starts the RLINK that way.
#include "cli/rvgadm/arg_values.h"
#include "cli/rvgadm/command.h"
#include "cli/rvgadm/daemon_client.h"
#include "cli/rvgadm/output.h"
#include "cli/rvgadm/state_access.h"
#include "cli/rvgadm/transfer_wait.h"

namespace rvg {

namespace {

// Replies to a request that changes an RLINK (an RLINK state change, a
// reload of attributes) come back within this.
constexpr int kRlinkRequestTimeoutMs = 10000;

Status SetStoppedState(const Home& home, const std::string& rvg, const std::string& sec,
                       bool pause) {
  Result<std::unique_ptr<StateDb>> db = OpenExistingState(home, rvg);
  if (!db.ok()) return db.status();
  Result<RlinkConfig> rlink = (*db)->GetRlink(rvg, sec);
  if (!rlink.ok()) return rlink.status();
  if (pause && rlink->state == "stale") {
    return Status::Error("RLINK " + sec + " is stale; it needs rvgadm startrep --full, not a pause");
  }
  if (pause && rlink->state == "paused") return Status::Error("RLINK " + sec + " is paused already");
  if (pause && (rlink->state == "dcm" || rlink->state == "resyncing")) {
    // state.db keeps one state: a pause written here would drop the DCM.
    return Status::Error("RLINK " + sec + " is in DCM; pause it while rvgd runs");
  }
  if (!pause && rlink->state != "paused") {
    return Status::Error("RLINK " + sec + " is " + rlink->state + ", not paused; nothing to resume");
  }
  return (*db)->SaveRlinkProgress(rvg, sec, pause ? "paused" : "disconnected", rlink->sent_seq,
                                  rlink->net_acked_seq, rlink->data_acked_seq);
}

int ChangeReplication(const Context& context, const ParsedArgs& args, bool pause) {
  const std::string& rvg = args.positional()[0];
  const std::string& sec = args.positional()[1];
  const char* verb = pause ? "pause" : "resume";
  Result<DaemonState> daemon = ProbeDaemon(context.home, rvg);
  if (!daemon.ok()) return ReportError(daemon.status());
  Status status;
  if (daemon->running) {
    status = RlinkRequest(context.home, rvg, sec, verb);
  } else {
    status = SetStoppedState(context.home, rvg, sec, pause);
  }
  if (!status.ok()) {
    return ReportError(status.Annotate(std::string("cannot ") + verb + " replication to " + sec));
  }
  PrintLine("RLINK " + sec + " of RVG " + rvg + ": replication " + (pause ? "paused" : "resumed") +
            (daemon->running ? "" : " (takes effect when rvgd starts)"));
  return kExitOk;
}

// Requests only a running rvgd can carry out.
int AskRunning(const Context& context, const std::string& rvg, const std::string& sec,
               const std::string& action, const std::string& done) {
  Status status = RequireRunning(context.home, rvg);
  if (status.ok()) status = RlinkRequest(context.home, rvg, sec, action);
  if (!status.ok()) return ReportError(status.Annotate("RLINK " + sec + " of RVG " + rvg));
  PrintLine("RLINK " + sec + " of RVG " + rvg + ": " + done);
  return kExitOk;
}

}  // namespace

Result<std::string> RlinkAction(const Home& home, const std::string& rvg, const std::string& sec,
                                const std::string& action) {
  nlohmann::json request = {{"cmd", "rlink"}, {"rlink", sec}, {"action", action}};
  Result<nlohmann::json> reply = AskDaemon(home, rvg, request, kRlinkRequestTimeoutMs);
  if (!reply.ok()) return reply.status();
  auto note = reply->find("note");
  return note != reply->end() && note->is_string() ? note->get<std::string>() : std::string();
}

Status RlinkRequest(const Home& home, const std::string& rvg, const std::string& sec,
                    const std::string& action) {
  return RlinkAction(home, rvg, sec, action).status();
}

int RunPauserep(const Context& context, const ParsedArgs& args) {
  return ChangeReplication(context, args, true);
}

int RunResumerep(const Context& context, const ParsedArgs& args) {
  return ChangeReplication(context, args, false);
}

}  // namespace rvg

namespace rvg {

namespace {

// Starts a full sync or a resync (`action`) and, with --wait, follows it
// to the end. A note from rvgd means there was nothing to do.
int StartTransfer(const Context& context, const ParsedArgs& args, const std::string& action,
                  const std::string& started, const std::string& label) {
  const std::string& rvg = args.positional()[0];
  const std::string& sec = args.positional()[1];
  Status status = CheckName("RVG", rvg);
  if (status.ok()) status = CheckName("secondary", sec);
  if (!status.ok()) return ReportUsage(context.spec, status.message());
  status = RequireRunning(context.home, rvg);
  if (!status.ok()) return ReportError(status.Annotate("RLINK " + sec + " of RVG " + rvg));
  Result<std::string> note = RlinkAction(context.home, rvg, sec, action);
  if (!note.ok()) return ReportError(note.status().Annotate("RLINK " + sec + " of RVG " + rvg));
  if (!note->empty()) {
    PrintLine(*note);
    return kExitOk;
  }
  PrintLine("RLINK " + sec + " of RVG " + rvg + ": " + started);
  if (!args.Has("--wait")) return kExitOk;
  status = WaitForTransfer(context.home, rvg, sec, label, JudgeResync);
  if (!status.ok()) return ReportError(status);
  PrintLine("RLINK " + sec + " of RVG " + rvg + ": " + label +
            " complete; the secondary is consistent");
  return kExitOk;
}

}  // namespace

int RunStoprep(const Context& context, const ParsedArgs& args) {
  return AskRunning(context, args.positional()[0], args.positional()[1], "stoprep",
                    "replication stopped (stale); rvgadm startrep --full brings it back");
}

int RunStartrep(const Context& context, const ParsedArgs& args) {
  if (args.Has("--checksum") && args.Has("--full")) {
    return ReportUsage(context.spec, "startrep: give --full or --checksum, not both");
  }
  if (args.Has("--checksum")) {
    return StartTransfer(context, args, "startrep_checksum",
                         "checksum sync started (regions are compared by hash; only those that "
                         "differ are sent)",
                         "checksum sync");
  }
  if (!args.Has("--full")) {
    return ReportUsage(context.spec, "startrep: give --full (the whole volumes are copied while "
                                     "writes go on) or --checksum (only regions that differ)");
  }
  return StartTransfer(context, args, "startrep_full",
                       "full sync started (state resyncing once connected; the secondary is "
                       "inconsistent until it completes)",
                       "full sync");
}

// `resync`: what the RLINK's bitmap holds, or with --full every region
// (an RLINK that replicates but whose secondary is suspect: restored from
// a backup, written by hand). Stale and paused RLINKs are refused by rvgd.
int RunResync(const Context& context, const ParsedArgs& args) {
  const bool full = args.Has("--full");
  return StartTransfer(context, args, full ? "resync_full" : "resync",
                       std::string(full ? "full resync started: every region is sent again"
                                        : "resync of the dirty regions started") +
                           " (the secondary is inconsistent until it completes)",
                       full ? "full resync" : "resync");
}

}  // namespace rvg
