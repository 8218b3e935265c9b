// HandshakeWatch: ZeroMQ's socket monitor, reduced to what rvg reports
// about a link's security handshakes. ZeroMQ runs the CURVE handshake
// inside its I/O threads and tells the application nothing unless asked:
// without this, a primary whose key the secondary refuses would only see
// silence, and a secondary would not count the peers it turned away.
//
// The watch holds an inproc PAIR socket connected to the monitor of one
// socket; its owner polls socket() and calls Take().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <zmq.hpp>

namespace rvg {

class HandshakeWatch {
 public:
  enum class Kind {
    kSucceeded,     // the peer proved its key (or the link is insecure)
    kRefused,       // the peer refused our key (ZAP said no), or we refused its
    kFailed,        // the handshake broke off: wrong server key, mechanism mismatch, garbage
  };
  struct Event {
    Kind kind;
    std::string address;  // the peer's address as ZeroMQ reports it
  };

  // Starts monitoring `monitored`; both sockets live in `context`.
  HandshakeWatch(zmq::context_t& context, zmq::socket_t& monitored);
  ~HandshakeWatch();
  HandshakeWatch(const HandshakeWatch&) = delete;
  HandshakeWatch& operator=(const HandshakeWatch&) = delete;

  zmq::socket_t& socket() { return pair_; }

  // Every handshake event waiting, without blocking.
  std::vector<Event> Take();

 private:
  zmq::socket_t& monitored_;
  zmq::socket_t pair_;
};

}  // namespace rvg
