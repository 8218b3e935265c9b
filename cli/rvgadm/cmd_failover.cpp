// rvgadm takeover: a secondary becomes the primary (doc/failover.md). Thin:
// the running rvgd decides (is the primary gone? are the images
// consistent?), changes its role in one state.db transaction and mounts.
// rvgadm force-online: a primary held back as data_corrupt serves writes
// under a new generation; rvgd decides and answers with a note.
// rvgadm resolve --discard-local: a primary in a split brain becomes the
// secondary of the peer it diverged from (its writes since the split are
// rolled back by a fast failback).
#include "cli/rvgadm/arg_values.h"
#include "cli/rvgadm/command.h"
#include "cli/rvgadm/daemon_client.h"
#include "cli/rvgadm/output.h"

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

}  // namespace rvg
