// StatsBetween: what `rvgadm stats` prints for one interval, from two
// status objects taken `seconds` apart: writes per second on the RVG and,
// per RLINK, records sent and data-acked per second and the lag (writes,
// bytes, seconds behind), as text (a small table) and as JSON.
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
