// rvgadm takeover: a secondary becomes the primary (doc/failover.md). Thin:
// the running rvgd decides (is the primary gone? are the images
// consistent?), changes its role in one state.db transaction and mounts.
// rvgadm force-online: a primary held back as data_corrupt serves writes
// under a new generation; rvgd decides and answers with a note.
// rvgadm resolve --discard-local: a primary in a split brain becomes the
// secondary of the peer it diverged from (its writes since the split are
// rolled back by a fast failback).
// rvgadm migrate: a planned switch; the primary hands its role over to a
// caught-up secondary and becomes its secondary, without a resync.
#include <chrono>
#include <thread>

#include "cli/rvgadm/arg_values.h"
#include "cli/rvgadm/command.h"
#include "cli/rvgadm/daemon_client.h"
#include "cli/rvgadm/output.h"
#include "net/control_channel.h"  // CheckControlTimeout

namespace rvg {

namespace {

// How long a takeover may take: the secondary applies what it holds,
// perhaps rolls back an unfinished resync, then the primary role recovers
// its SRL and mounts.
constexpr int kTakeoverTimeoutMs = 10 * 60 * 1000;

}  // namespace

int RunTakeover(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  Status status = CheckName("RVG", rvg);
  if (!status.ok()) return ReportUsage(context.spec, status.message());
  status = RequireRunning(context.home, rvg);
  if (!status.ok()) return ReportError(status.Annotate("takeover"));
  nlohmann::json request = {{"cmd", "takeover"}, {"force", args.Has("--force")}};
  if (args.Has("--mount")) {
    Result<std::string> dir = PrepareMountpoint(args.Value("--mount"));
    if (!dir.ok()) return ReportError(dir.status().Annotate("takeover"));
    request["mount"] = *dir;
  }
  Result<nlohmann::json> reply = AskDaemon(context.home, rvg, request, kTakeoverTimeoutMs);
  if (!reply.ok()) return ReportError(reply.status().Annotate("takeover of RVG " + rvg));
  if (context.json) {
    PrintJson(*reply);
  } else {
    PrintLine("RVG " + rvg + ": this host is the primary now, generation " +
              reply->value("generation", std::string("?")) + " from seq " +
              std::to_string(reply->value("start_seq", uint64_t{0})) + ", mounted at " +
              reply->value("mount", std::string("?")));
    const std::string note = reply->value("note", std::string());
    if (!note.empty()) PrintLine(note);
  }
  return kExitOk;
}

namespace {

// Sends `request` (a command named `what`) to the running rvgd of `rvg`
// and prints the note it answers with.
int AskForNote(const Context& context, const std::string& rvg, const std::string& what,
               const nlohmann::json& request) {
  Status status = RequireRunning(context.home, rvg);
  if (!status.ok()) return ReportError(status.Annotate(what));
  Result<nlohmann::json> reply = AskDaemon(context.home, rvg, request, kTakeoverTimeoutMs);
  if (!reply.ok()) return ReportError(reply.status().Annotate(what + " of RVG " + rvg));
  if (context.json) {
    PrintJson(*reply);
  } else {
    PrintLine(reply->value("note", std::string()));
  }
  return kExitOk;
}

}  // namespace

int RunForceOnline(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  Status status = CheckName("RVG", rvg);
  if (!status.ok()) return ReportUsage(context.spec, status.message());
  return AskForNote(context, rvg, "force-online", {{"cmd", "force-online"}});
}

int RunResolve(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  Status status = CheckName("RVG", rvg);
  if (!status.ok()) return ReportUsage(context.spec, status.message());
  if (!args.Has("--discard-local")) {
    return ReportUsage(context.spec, "resolve needs --discard-local, run on the host whose "
                                     "writes since the split are to be thrown away");
  }
  return AskForNote(context, rvg, "resolve", {{"cmd", "resolve"}});
}

namespace {

constexpr double kDefaultMigrateSeconds = 60;

// After a migrate: waits (polling, up to `seconds`) until the new primary
// has opened a session with this host, the proof that it is primary and
// replicates here. False when it did not within the time.
bool WaitForNewPrimary(const Home& home, const std::string& rvg, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    Result<nlohmann::json> reply = AskDaemon(home, rvg, {{"cmd", "status"}}, 5000);
    if (reply.ok()) {
      const nlohmann::json& session = (*reply)["status"]["primary_session"];
      if (session.is_string() && !session.get<std::string>().empty()) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

}  // namespace

int RunMigrate(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  const std::string& sec = args.positional()[1];
  Status status = CheckName("RVG", rvg);
  if (status.ok()) status = CheckName("secondary", sec);
  double seconds = kDefaultMigrateSeconds;
  if (status.ok() && args.Has("--timeout")) {
    Result<double> parsed = ParseSeconds(args.Value("--timeout"));
    status = parsed.status().Annotate("--timeout");
    if (parsed.ok()) seconds = *parsed;
    if (status.ok()) status = CheckControlTimeout(seconds, "--timeout");
  }
  nlohmann::json request = {{"cmd", "migrate"}, {"rlink", sec}, {"timeout", seconds}};
  if (status.ok() && args.Has("--mount")) {
    // A directory on SEC's host: it cannot be checked or created here.
    const std::string dir = args.Value("--mount");
    if (dir.empty() || dir[0] != '/') {
      status = Status::Error("migrate: --mount takes an absolute path (a directory on " + sec +
                             ")");
    }
    request["mount"] = dir;
  }
  if (!status.ok()) return ReportUsage(context.spec, status.message());
  status = RequireRunning(context.home, rvg);
  if (!status.ok()) return ReportError(status.Annotate("migrate"));
  // The drain and the handover share the timeout; unmounting, closing
  // the pipeline and starting the secondary role come on top.
  const double reply_ms = std::min((seconds + 120) * 1000, double{INT_MAX});
  Result<nlohmann::json> reply = AskDaemon(context.home, rvg, request, static_cast<int>(reply_ms));
  if (!reply.ok()) return ReportError(reply.status().Annotate("migrate of RVG " + rvg));
  const bool replicating = WaitForNewPrimary(context.home, rvg, seconds);
  const std::string done = sec + " is the primary now, generation " +
                           reply->value("generation", std::string("?")) + " from seq " +
                           std::to_string(reply->value("start_seq", uint64_t{0}));
  if (context.json) {
    (*reply)["replicating"] = replicating;
    PrintJson(*reply);
  } else if (replicating) {
    PrintLine("RVG " + rvg + ": " + done + "; this host is its secondary");
  }
  if (!replicating) {
    // The switch happened; only its last step is missing: one line says both.
    return ReportError("migrate: " + done + ", but it has not connected to this host yet; "
                       "check rvgadm status " + rvg + " on both hosts");
  }
  return kExitOk;
}

}  // namespace rvg
