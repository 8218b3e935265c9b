// rvgadm list, status, flags and drain: which RVGs there are and what one
// is doing. status and flags ask rvgd for live figures and fall back to
// what state.db holds while it is stopped; drain needs the running daemon.
#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <ctime>
#include <future>

#include <unistd.h>

#include "cli/common/metrics_text.h"
#include "cli/common/secondary_store.h"
#include "cli/common/status_view.h"
#include "cli/rvgadm/arg_values.h"
#include "cli/rvgadm/command.h"
#include "cli/rvgadm/daemon_client.h"
#include "cli/rvgadm/output.h"
#include "cli/rvgadm/state_access.h"
#include "cli/rvgadm/status_fetch.h"
#include "net/control_channel.h"

namespace rvg {

namespace {

constexpr double kDefaultDrainSeconds = 60;
// Beyond the drain's own timeout, time for rvgd to notice and answer.
constexpr double kDrainReplyMarginSeconds = 10;


}  // namespace

int RunStatus(const Context& context, const ParsedArgs& args) {
  Result<nlohmann::json> status = FetchStatus(context.home, args.positional()[0]);
  if (!status.ok()) return ReportError(status.status());
  if (context.json) {
    PrintJson(*status);
  } else {
    std::string table = StatusTable(*status);
    if (!table.empty() && table.back() == '\n') table.pop_back();
    PrintLine(table);
  }
  return kExitOk;
}

int RunFlags(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  Result<nlohmann::json> status = FetchStatus(context.home, rvg);
  if (!status.ok()) return ReportError(status.status());
  nlohmann::json details = status->value("flag_details", nlohmann::json::array());
  if (context.json) {
    PrintJson(details);
    return kExitOk;
  }
  if (!details.is_array() || details.empty()) {
    PrintLine("RVG " + rvg + " has no flags set");
    return kExitOk;
  }
  for (const nlohmann::json& flag : details) {
    const std::time_t set_at = flag.value("set_at", int64_t{0});
    char when[32] = "?";
    std::tm tm{};
    if (gmtime_r(&set_at, &tm) != nullptr) std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    const std::string reason = flag.value("reason", std::string());
    PrintLine(flag.value("name", std::string()) + "=" + flag.value("value", std::string()) +
              "  (set " + when + (reason.empty() ? "" : ": " + reason) + ")");
  }
  return kExitOk;
}

int RunDrain(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  double seconds = kDefaultDrainSeconds;
  if (args.Has("--timeout")) {
    Result<double> parsed = ParseSeconds(args.Value("--timeout"));
    if (!parsed.ok()) {
      return ReportUsage(context.spec, parsed.status().Annotate("--timeout").message());
    }
    seconds = *parsed;
    // rvgd refuses the same; saying so here is clearer and saves the trip.
    Status bounded = CheckControlTimeout(seconds, "--timeout");
    if (!bounded.ok()) return ReportUsage(context.spec, bounded.message());
  }
  nlohmann::json rlink = nullptr;
  if (args.positional().size() > 1) rlink = args.positional()[1];
  Status status = RequireRunning(context.home, rvg);
  if (!status.ok()) return ReportError(status);

  nlohmann::json timeout = seconds;
  if (seconds == std::floor(seconds)) timeout = static_cast<uint64_t>(seconds);
  nlohmann::json request = {{"cmd", "drain"}, {"rlink", rlink}, {"timeout", timeout}};
  double reply_ms = std::min((seconds + kDrainReplyMarginSeconds) * 1000, double{INT_MAX});
  auto call = std::async(std::launch::async, [&] {
    return AskDaemon(context.home, rvg, request, static_cast<int>(reply_ms));
  });
  {
    WaitIndicator indicator("draining RVG " + rvg + "...");
    auto start = std::chrono::steady_clock::now();
    while (call.wait_for(std::chrono::seconds(1)) != std::future_status::ready) {
      std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      indicator.Tick(elapsed.count());
    }
  }
  Result<nlohmann::json> reply = call.get();
  if (!reply.ok()) return ReportError(reply.status().Annotate("draining RVG " + rvg));
  PrintLine("drained");
  return kExitOk;
}

// `list`: the RVGs of this home, one per line with its role; with RVG, the
// hosts it knows (its RLINKs) with their addresses. What scripts and the
// shell completion read; from state.db, so rvgd need not run.
int RunList(const Context& context, const ParsedArgs& args) {
  nlohmann::json rows = nlohmann::json::array();
  if (!args.positional().empty() || ::access(context.home.StateDbPath().c_str(), F_OK) == 0) {
    const std::string rvg = args.positional().empty() ? "" : args.positional()[0];
    Result<std::unique_ptr<StateDb>> db = OpenExistingState(context.home, rvg);
    if (!db.ok()) return ReportError(db.status());
    if (rvg.empty()) {
      Result<std::vector<std::string>> names = (*db)->ListRvgs();
      if (!names.ok()) return ReportError(names.status());
      for (const std::string& name : *names) {
        Result<RvgConfig> config = (*db)->GetRvg(name);
        if (!config.ok()) return ReportError(config.status());
        rows.push_back({{"name", name}, {"role", config->role}});
      }
    } else {
      Result<RvgConfig> config = LoadRvg(**db, context.home, rvg);
      if (!config.ok()) return ReportError(config.status());
      Result<std::vector<RlinkConfig>> rlinks = (*db)->ListRlinks(rvg);
      if (!rlinks.ok()) return ReportError(rlinks.status());
      for (const RlinkConfig& r : *rlinks) {
        rows.push_back({{"name", r.name}, {"address", r.address}});
      }
    }
  }
  if (context.json) {
    PrintJson(rows);
    return kExitOk;
  }
  for (const nlohmann::json& row : rows) {
    PrintLine(row["name"].get<std::string>() + " " +
              row.value("role", row.value("address", std::string())));
  }
  return kExitOk;
}

// `metrics`: the status in Prometheus' text format, for node_exporter's
// textfile collector (rvgadm metrics RVG > DIR/rvg_RVG.prom.$$ && mv ...).
int RunMetrics(const Context& context, const ParsedArgs& args) {
  Result<nlohmann::json> status = FetchStatus(context.home, args.positional()[0]);
  if (!status.ok()) return ReportError(status.status());
  std::string text = MetricsText(*status);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  PrintLine(text);
  return kExitOk;
}

}  // namespace rvg
