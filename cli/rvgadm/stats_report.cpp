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

// The mean net-ack latency of the writes acked in the interval, in
// seconds, from the histogram's sum and count (status' latency.net_ack);
// null when none was acked or the status has no latency (rvgd stopped, or
// older).
nlohmann::json MeanNetAck(const nlohmann::json& before, const nlohmann::json& after) {
  auto histogram = [](const nlohmann::json& rlink) {
    const nlohmann::json latency = rlink.value("latency", nlohmann::json());
    return latency.is_object() ? latency.value("net_ack", nlohmann::json()) : nlohmann::json();
  };
  const nlohmann::json b = histogram(before), a = histogram(after);
  if (!a.is_object()) return nullptr;
  const uint64_t count_before = b.is_object() ? JsonUint(b, "count") : 0;
  const double sum_before = b.is_object() ? b.value("sum_s", 0.0) : 0.0;
  const uint64_t count = JsonUint(a, "count");
  if (count <= count_before) return nullptr;
  return (a.value("sum_s", 0.0) - sum_before) / static_cast<double>(count - count_before);
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
  std::snprintf(line, sizeof(line), "%-12s %-14s %10s %10s %12s %14s %9s %10s\n", "RLINK",
                "STATE", "SENT/s", "ACKED/s", "BEHIND", "BEHIND_BYTES", "LAG_s", "NETACK_ms");
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
    const nlohmann::json net_ack = MeanNetAck(then, now);
    r.json["rlinks"].push_back({{"name", name},
                                {"state", JsonString(now, "state")},
                                {"sent_per_s", sent},
                                {"acked_per_s", acked},
                                {"writes_behind", JsonUint(now, "writes_behind")},
                                {"bytes_behind", JsonUint(now, "bytes_behind")},
                                {"seconds_behind", lag},
                                {"net_ack_mean_s", net_ack}});
    std::snprintf(line, sizeof(line), "%-12s %-14s %10.1f %10.1f %12llu %14llu %9s %10s\n",
                  name.c_str(), JsonString(now, "state").c_str(), sent, acked,
                  static_cast<unsigned long long>(JsonUint(now, "writes_behind")),
                  static_cast<unsigned long long>(JsonUint(now, "bytes_behind")),
                  lag.is_number() ? Format("%.3f", lag.get<double>()).c_str() : "-",
                  net_ack.is_number() ? Format("%.2f", net_ack.get<double>() * 1e3).c_str() : "-");
    r.text += line;
  }
  return r;
}

}  // namespace rvg
