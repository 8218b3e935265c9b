// AskOwnStatus: rvgd's `status` object, asked from its own control socket
// by one of its side threads (the systemd notifier, the metrics endpoint).
// Only the main thread may touch the daemon object, since a role change
// replaces it; through the socket the main thread answers in its own time.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "net/control_channel.h"

namespace rvg {

inline Result<nlohmann::json> AskOwnStatus(const std::string& endpoint, int timeout_ms) {
  Result<nlohmann::json> reply = ControlCall(endpoint, {{"cmd", "status"}}, timeout_ms);
  if (!reply.ok()) return reply.status();
  auto status = reply->find("status");
  if (status == reply->end() || !status->is_object()) {
    return Status::Error("rvgd answered status without a status object");
  }
  return *status;
}

}  // namespace rvg
