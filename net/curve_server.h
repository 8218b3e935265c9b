// A listening ROUTER socket of rvg: a CURVE server whose ZapHandler admits
// only pinned keys (or, insecure, a plain one), with bounded frames and
// queue. Shared by the secondary's RlinkReceiver and the primary's
// PrimaryListener, which must refuse the same peers the same way.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "core/status.h"
#include "net/wakeup.h"
#include "net/zap_handler.h"

namespace rvg {

struct ServerSocketOptions {
  std::string rvg_name;  // for the ZapHandler's hints
  std::string listen;
  bool insecure = false;
  std::string secret_key;              // CURVE, unless insecure
  std::vector<std::string> peer_keys;  // admitted client keys, unless insecure
  int64_t max_frame_bytes = 0;         // ZeroMQ drops a connection sending more
  int receive_queue = 0;               // messages held per connection
};

struct ServerSocket {
  std::unique_ptr<ZapHandler> zap;  // bound before the socket (CURVE only)
  std::unique_ptr<zmq::socket_t> socket;
};

// Binds; `before_bind` (may be empty) runs on the configured socket just
// before bind (a monitor must be attached then). A taken endpoint is a
// clear error; nothing is left bound on failure.
Result<ServerSocket> BindServerSocket(zmq::context_t* context, const ServerSocketOptions& options,
                                      const std::function<void(zmq::socket_t&)>& before_bind);

// The wait of a server's thread: up to `timeout` for a message on
// `socket`, a signal of `wakeup` or a ZAP request; drains the wakeup and
// answers the ZAP requests (`zap` may be null: insecure).
void WaitForServerWork(zmq::socket_t& socket, ZapHandler* zap, Wakeup& wakeup,
                       std::chrono::milliseconds timeout);

}  // namespace rvg
