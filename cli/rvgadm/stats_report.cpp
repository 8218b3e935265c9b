#include "cli/rvgadm/stats_report.h"

#include <cstdio>

namespace rvg {

namespace {

double Rate(const nlohmann::json& before, const nlohmann::json& after, const char* key,
            double seconds) {
  const auto b = before.value(key, uint64_t{0});
  const auto a = after.value(key, uint64_t{0});
  return a >= b && seconds > 0 ? static_cast<double>(a - b) / seconds : 0;
}

std::string Format(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

}  // namespace

StatsReport StatsBetween(const nlohmann::json& before, const nlohmann::json& after,
                         double seconds) {
  StatsReport r;
  const double writes = Rate(before, after, "last_seq", seconds);
  r.json = {{"rvg", after.value("rvg", std::string())},
            {"role", after.value("role", std::string())},
            {"last_seq", after.value("last_seq", uint64_t{0})},
            {"writes_per_s", writes},
            {"rlinks", nlohmann::json::array()}};
  r.text = "RVG " + after.value("rvg", std::string()) + " (" +
           after.value("role", std::string()) + ")  " + Format("%.1f", writes) +
           " writes/s  seq " + std::to_string(after.value("last_seq", uint64_t{0})) + "\n";
  const nlohmann::json rlinks = after.value("rlinks", nlohmann::json::array());
  if (!rlinks.is_array() || rlinks.empty()) return r;
  char line[200];
  std::snprintf(line, sizeof(line), "%-12s %-14s %10s %10s %12s %14s %9s\n", "RLINK", "STATE",
                "SENT/s", "ACKED/s", "BEHIND", "BEHIND_BYTES", "LAG_s");
  r.text += line;
  const nlohmann::json old_rlinks = before.value("rlinks", nlohmann::json::array());
  for (const nlohmann::json& now : rlinks) {
    const std::string name = now.value("name", std::string());
    nlohmann::json then = now;  // a new RLINK: no rate yet
    for (const nlohmann::json& o : old_rlinks) {
      if (o.value("name", std::string()) == name) then = o;
    }
    const double sent = Rate(then, now, "sent_seq", seconds);
    const double acked = Rate(then, now, "data_acked_seq", seconds);
    const nlohmann::json lag = now.value("seconds_behind", nlohmann::json());
    r.json["rlinks"].push_back({{"name", name},
                                {"state", now.value("state", std::string())},
                                {"sent_per_s", sent},
                                {"acked_per_s", acked},
                                {"writes_behind", now.value("writes_behind", uint64_t{0})},
                                {"bytes_behind", now.value("bytes_behind", uint64_t{0})},
                                {"seconds_behind", lag}});
    std::snprintf(line, sizeof(line), "%-12s %-14s %10.1f %10.1f %12llu %14llu %9s\n",
                  name.c_str(), now.value("state", std::string()).c_str(), sent, acked,
                  static_cast<unsigned long long>(now.value("writes_behind", uint64_t{0})),
                  static_cast<unsigned long long>(now.value("bytes_behind", uint64_t{0})),
                  lag.is_number() ? Format("%.3f", lag.get<double>()).c_str() : "-");
    r.text += line;
  }
  return r;
}

}  // namespace rvg
