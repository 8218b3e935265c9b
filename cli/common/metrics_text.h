// MetricsText: an RVG's `status` object (cli/common/status_view.h) in the
// Prometheus text exposition format, version 0.0.4. The one rendering
// behind both `rvgadm metrics RVG` (for node_exporter's textfile
// collector) and rvgd's --metrics HTTP endpoint.
//
// Names follow the Prometheus conventions: an `rvg_` prefix, base units
// (bytes, seconds), `_total` on counters, labels rvg and rlink. An RLINK's
// state is one series per possible state, 1 for the current one, so a
// query can alert on rvg_rlink_state{state="stale"} == 1. Values a stopped
// rvgd cannot know (null in status) are left out, not reported as 0.
// The ack latencies are histograms (rvg_rlink_net_ack_seconds,
// rvg_rlink_data_ack_seconds: cumulative _bucket{le}, _sum, _count) with
// the fixed bounds of core/latency_histogram.h, so histogram_quantile()
// aggregates them across RLINKs and hosts.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace rvg {

std::string MetricsText(const nlohmann::json& status);

}  // namespace rvg
