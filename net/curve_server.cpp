#include "net/curve_server.h"

#include <cerrno>
#include <chrono>
#include <thread>

namespace rvg {

namespace {

Result<ServerSocket> BindOnce(zmq::context_t* context, const ServerSocketOptions& options,
                              const std::function<void(zmq::socket_t&)>& before_bind) {
  ServerSocket s;
  if (!options.insecure) {
    if (options.secret_key.empty() || options.peer_keys.empty()) {
      return Status::Error("internal: a CURVE server needs its secret key and a peer's key");
    }
    // The authenticator first: a CURVE server without one admits anybody.
    Result<std::unique_ptr<ZapHandler>> zap =
        ZapHandler::Bind(context, options.peer_keys, options.rvg_name);
    if (!zap.ok()) return zap.status();
    s.zap = std::move(*zap);
  }
  s.socket = std::make_unique<zmq::socket_t>(*context, zmq::socket_type::router);
  s.socket->set(zmq::sockopt::linger, 0);
  // A frame larger than the largest legal one is refused by ZeroMQ itself
  // (the offending connection is dropped) before it costs us memory.
  s.socket->set(zmq::sockopt::maxmsgsize, options.max_frame_bytes);
  s.socket->set(zmq::sockopt::rcvhwm, options.receive_queue);
  if (!options.insecure) {
    s.socket->set(zmq::sockopt::curve_server, true);
    s.socket->set(zmq::sockopt::curve_secretkey, options.secret_key);
    s.socket->set(zmq::sockopt::zap_domain, ZapHandler::kDomain);
  }
  try {
    if (before_bind) before_bind(*s.socket);
    s.socket->bind(options.listen);
  } catch (const zmq::error_t& e) {
    return Status::Error("cannot listen on " + options.listen + ": " + e.what() +
                             " (is another rvgd using it?)",
                         e.num());
  }
  return s;
}

}  // namespace

// A role change closes one server socket (and its authenticator) and binds
// the next on the same endpoints; ZeroMQ lets go of a closed socket's
// endpoints on its I/O thread, a moment later. So an endpoint in use is
// tried again for a few seconds before it is reported.
Result<ServerSocket> BindServerSocket(zmq::context_t* context, const ServerSocketOptions& options,
                                      const std::function<void(zmq::socket_t&)>& before_bind) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (;;) {
    Result<ServerSocket> s = BindOnce(context, options, before_bind);
    if (s.ok() || s.status().code() != EADDRINUSE ||
        std::chrono::steady_clock::now() >= give_up) {
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void WaitForServerWork(zmq::socket_t& socket, ZapHandler* zap, Wakeup& wakeup,
                       std::chrono::milliseconds timeout) {
  zmq::pollitem_t items[3] = {
      {socket.handle(), 0, ZMQ_POLLIN, 0},
      {nullptr, wakeup.fd(), ZMQ_POLLIN, 0},
      {zap ? zap->socket().handle() : nullptr, zap ? 0 : wakeup.fd(), ZMQ_POLLIN, 0},
  };
  zmq::poll(items, 3, timeout);
  if (items[1].revents & ZMQ_POLLIN) wakeup.Drain();
  if (zap) zap->HandleRequests();
}

}  // namespace rvg
