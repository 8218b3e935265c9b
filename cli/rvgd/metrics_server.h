// MetricsServer: rvgd's Prometheus endpoint (rvgd --metrics ADDR:PORT, off
// by default). GET /metrics answers the RVG's status in the text format
// (cli/common/metrics_text.h); anything else is 404 or 405.
//
// The status is asked from rvgd's own control socket, as `rvgadm status`
// does, because only the main thread may touch the daemon object (a role
// change replaces it). libmicrohttpd serves on a thread of its own, with
// at most kMaxConnections connections of at most kConnectionMemory bytes
// each, closed after kConnectionTimeout idle seconds: a scraper, or
// anyone else who reaches the port, cannot make rvgd hold much. The
// endpoint answers from a status at most a second old, so scrapes cannot
// keep rvgd's main loop busy. It is plain HTTP without authentication;
// bind it to an address only the monitoring network reaches (127.0.0.1
// for node_exporter on the same host).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/status.h"

struct MHD_Daemon;

namespace rvg {

class MetricsServer {
 public:
  // Listens on `address` (IPV4:PORT or [IPV6]:PORT, numeric).
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                       std::string control_endpoint);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The body GET /metrics answers, and its HTTP status.
  std::string Scrape(unsigned* http_status) const;

 private:
  explicit MetricsServer(std::string control_endpoint);
  const std::string endpoint_;
  MHD_Daemon* daemon_ = nullptr;
  mutable std::mutex cache_mu_;
  mutable std::string cached_;  // the last rendering, under cache_mu_
  mutable std::optional<std::chrono::steady_clock::time_point> cached_at_;
};

}  // namespace rvg
