// ZapHandler: the ZeroMQ authentication hook (ZAP, ZeroMQ RFC 27) of a
// secondary's CURVE listener. It admits only client keys an administrator
// pinned: the primary's (`rvgadm trust` or create --primary-key) and those
// of the RVG's other hosts (`rvgadm addsec ... --peer-key` on this host),
// any of which may become primary (doc/failover.md). Every other key, and every mechanism but CURVE, is
// refused during the handshake, before the peer can send one message, so
// an unauthenticated peer can neither write nor learn anything about the
// RVG — it only sees the handshake fail.
//
// ZeroMQ asks over inproc://zeromq.zap.01 in the socket's context, so one
// handler serves one context; it must be bound before the listener, since
// a CURVE server whose context has no handler admits every key. The
// handler does not run a thread of its own: its owner polls socket() and
// calls HandleRequests() (RlinkReceiver does both on its thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "core/status.h"
#include "net/rate_limiter.h"

namespace rvg {

class ZapHandler {
 public:
  // The ZAP domain the listener sets (ZMQ_ZAP_DOMAIN).
  static constexpr const char* kDomain = "rvg";

  // Binds the context's ZAP endpoint; `pinned_keys` are Z85, `rvg` names
  // the RVG in the log's hints.
  static Result<std::unique_ptr<ZapHandler>> Bind(zmq::context_t* context,
                                                  std::vector<std::string> pinned_keys,
                                                  const std::string& rvg);

  zmq::socket_t& socket() { return socket_; }

  // Answers every request waiting, without blocking. The user id of an
  // admitted peer is its key in Z85, which messages then carry as their
  // "User-Id" property.
  void HandleRequests();

 private:
  ZapHandler(zmq::context_t* context, std::vector<std::string> pinned_keys, std::string rvg);
  void Answer(std::vector<zmq::message_t>& request);

  zmq::socket_t socket_;
  const std::vector<std::string> pinned_keys_;
  const std::string rvg_;
  RateLimiter log_limit_{10, std::chrono::seconds(10)};
};

}  // namespace rvg
