// StatsBetween: what `rvgadm stats` prints for one interval, from two
// status objects taken `seconds` apart: writes per second on the RVG and,
// per RLINK, records sent and data-acked per second, the lag (writes,
// bytes, seconds behind) and the mean net-ack latency of the writes acked
// in the interval (net_ack_mean_s, from the deltas of the histogram's sum
// and count; null when none was), as text (a small table) and as JSON.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace rvg {

struct StatsReport {
  std::string text;
  nlohmann::json json;
};

StatsReport StatsBetween(const nlohmann::json& before, const nlohmann::json& after,
                         double seconds);

}  // namespace rvg
