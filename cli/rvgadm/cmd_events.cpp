// rvgadm events and stats: an RVG followed over time, by polling its
// status (FetchStatus) rather than by a subscription, so that they work
// the same whether rvgd runs, stops or restarts meanwhile.
//
// events prints one line per change of what an administrator watches —
// role, generation, running, consistency, health, each flag, and per
// RLINK its state, protections, resync progress (whole percent) and last
// error — like `drbdsetup events2`: first an `exists` line for each, then
// a `change` line for each change (`gone` when a flag or RLINK goes).
// stats prints rates, lag and ack latency per RLINK every interval, like vrstat.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <thread>

#include "cli/common/json_fields.h"
#include "cli/rvgadm/arg_values.h"
#include "cli/rvgadm/command.h"
#include "cli/rvgadm/output.h"
#include "cli/rvgadm/stats_report.h"
#include "cli/rvgadm/status_fetch.h"

namespace rvg {

namespace {

constexpr std::chrono::milliseconds kEventPoll{250};

using Facts = std::map<std::pair<std::string, std::string>, std::string>;  // (object, key)

std::string Scalar(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

// What events reports, flattened: (object, key) -> value.
Facts FactsOf(const nlohmann::json& status) {
  Facts facts;
  for (const char* key : {"role", "generation", "running", "consistent", "health"}) {
    if (status.contains(key)) facts[{"rvg", key}] = Scalar(status[key]);
  }
  const nlohmann::json flags = status.value("flags", nlohmann::json::object());
  if (flags.is_object()) {
    for (const auto& [name, value] : flags.items()) facts[{"flag:" + name, "value"}] = Scalar(value);
  }
  const nlohmann::json rlinks = status.value("rlinks", nlohmann::json::array());
  for (const nlohmann::json& r : rlinks.is_array() ? rlinks : nlohmann::json::array()) {
    const std::string object = "rlink:" + JsonString(r, "name");
    facts[{object, "state"}] = JsonString(r, "state");
    const nlohmann::json protection = r.value("protection", nlohmann::json());
    if (protection.is_object()) {
      for (const auto& [name, value] : protection.items()) {
        facts[{object, "protection." + name}] = Scalar(value);
      }
    }
    const nlohmann::json resync = r.value("resync", nlohmann::json());
    facts[{object, "resync"}] =
        resync.is_object() && JsonUint(resync, "total") > 0
            ? std::to_string(JsonUint(resync, "done") * 100 /
                             JsonUint(resync, "total")) + "%"
            : "";
    facts[{object, "last_error"}] = JsonString(r, "last_error");
  }
  return facts;
}

std::string Now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[96];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return text;
}

void PrintEvent(bool json, const std::string& event, const std::pair<std::string, std::string>& at,
                const std::string* old_value, const std::string* new_value) {
  if (json) {
    nlohmann::json line = {{"time", Now()}, {"event", event}, {"object", at.first},
                           {"key", at.second}};
    if (old_value) line["old"] = *old_value;
    if (new_value) line["new"] = *new_value;
    std::cout << line.dump() << std::endl;
    return;
  }
  std::string text = Now() + " " + event + " " + at.first + " " + at.second;
  if (old_value && new_value) {
    text += " " + *old_value + " -> " + *new_value;
  } else if (new_value) {
    text += " " + *new_value;
  }
  std::cout << text << std::endl;
}

}  // namespace

int RunEvents(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  Result<nlohmann::json> status = FetchStatus(context.home, rvg);
  if (!status.ok()) return ReportError(status.status());
  Facts known = FactsOf(*status);
  for (const auto& [at, value] : known) PrintEvent(context.json, "exists", at, nullptr, &value);
  if (args.Has("--now")) return kExitOk;
  for (;;) {
    std::this_thread::sleep_for(kEventPoll);
    status = FetchStatus(context.home, rvg);
    if (!status.ok()) {
      // rvgd busy with a long request: ask again; the RVG deleted: stop.
      if (status.status().message().find("no RVG named") != std::string::npos) {
        return ReportError(status.status());
      }
      continue;
    }
    Facts now = FactsOf(*status);
    for (const auto& [at, value] : now) {
      auto it = known.find(at);
      if (it == known.end()) {
        PrintEvent(context.json, "exists", at, nullptr, &value);
      } else if (it->second != value) {
        PrintEvent(context.json, "change", at, &it->second, &value);
      }
    }
    for (const auto& [at, value] : known) {
      if (!now.count(at)) PrintEvent(context.json, "gone", at, &value, nullptr);
    }
    known = std::move(now);
  }
}

int RunStats(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  // Both are numbers by now (checked on the command line); the range of
  // --interval is this command's own.
  double interval = 1;
  if (args.Has("--interval")) {
    Result<double> parsed = ParseSeconds(args.Value("--interval"));
    if (!parsed.ok() || *parsed < 0.1 || *parsed > 3600) {
      return ReportUsage(context.spec, "stats: --interval takes 0.1 to 3600 seconds");
    }
    interval = *parsed;
  }
  long count = -1;  // forever
  if (args.Has("--count")) {
    Result<long> parsed = ParseCount(args.Value("--count"));
    if (!parsed.ok()) {
      return ReportUsage(context.spec, parsed.status().Annotate("stats: --count").message());
    }
    count = *parsed;
  }
  const bool terminal = ::isatty(STDOUT_FILENO) != 0 && !context.json;
  Result<nlohmann::json> before = FetchStatus(context.home, rvg);
  if (!before.ok()) return ReportError(before.status());
  auto last_time = std::chrono::steady_clock::now();
  for (long n = 0; count < 0 || n < count; ++n) {
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
    Result<nlohmann::json> after = FetchStatus(context.home, rvg);
    if (!after.ok()) return ReportError(after.status());
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_time).count();
    last_time = now;
    StatsReport report = StatsBetween(*before, *after, seconds);
    if (context.json) {
      std::cout << report.json.dump() << std::endl;
    } else {
      if (terminal) std::cout << "\033[H\033[J";  // redrawn in place
      std::cout << report.text << std::flush;
    }
    before = std::move(after);
  }
  return kExitOk;
}

}  // namespace rvg
