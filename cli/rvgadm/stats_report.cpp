#include "cli/common/json_fields.h"
#include "cli/rvgadm/stats_report.h"

#include <cstdio>

namespace rvg {

namespace {

double Rate(const nlohmann::json& before, const nlohmann::json& after, const char* key,
            double seconds) {
  const uint64_t b = JsonUint(before, key);
  const uint64_t a = JsonUint(after, key);
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
  r.json = {{"rvg", JsonString(after, "rvg")},
            {"role", JsonString(after, "role")},
            {"last_seq", JsonUint(after, "last_seq")},
            {"writes_per_s", writes},
            {"rlinks", nlohmann::json::array()}};
  r.text = "RVG " + JsonString(after, "rvg") + " (" +
           JsonString(after, "role") + ")  " + Format("%.1f", writes) +
           " writes/s  seq " + std::to_string(JsonUint(after, "last_seq")) + "\n";
  const nlohmann::json rlinks = after.value("rlinks", nlohmann::json::array());
  if (!rlinks.is_array() || rlinks.empty()) return r;
  char line[200];
  std::snprintf(line, sizeof(line), "%-12s %-14s %10s %10s %12s %14s %9s\n", "RLINK", "STATE",
                "SENT/s", "ACKED/s", "BEHIND", "BEHIND_BYTES", "LAG_s");
  r.text += line;
  const nlohmann::json old_rlinks = before.value("rlinks", nlohmann::json::array());
  for (const nlohmann::json& now : rlinks) {
    const std::string name = JsonString(now, "name");
    nlohmann::json then = now;  // a new RLINK: no rate yet
    for (const nlohmann::json& o : old_rlinks) {
      if (JsonString(o, "name") == name) then = o;
    }
    const double sent = Rate(then, now, "sent_seq", seconds);
    const double acked = Rate(then, now, "data_acked_seq", seconds);
    const nlohmann::json lag = now.value("seconds_behind", nlohmann::json());
    r.json["rlinks"].push_back({{"name", name},
                                {"state", JsonString(now, "state")},
                                {"sent_per_s", sent},
                                {"acked_per_s", acked},
                                {"writes_behind", JsonUint(now, "writes_behind")},
                                {"bytes_behind", JsonUint(now, "bytes_behind")},
                                {"seconds_behind", lag}});
    std::snprintf(line, sizeof(line), "%-12s %-14s %10.1f %10.1f %12llu %14llu %9s\n",
                  name.c_str(), JsonString(now, "state").c_str(), sent, acked,
                  static_cast<unsigned long long>(JsonUint(now, "writes_behind")),
                  static_cast<unsigned long long>(JsonUint(now, "bytes_behind")),
                  lag.is_number() ? Format("%.3f", lag.get<double>()).c_str() : "-");
    r.text += line;
  }
  return r;
}

}  // namespace rvg
