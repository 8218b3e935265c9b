// HandshakeWatch: ZeroMQ's socket monitor, reduced to what rvg reports
// about a link's security handshakes. ZeroMQ runs the CURVE handshake
// inside its I/O thread and tells the application nothing unless asked:
// without this, a primary whose key the secondary refuses would only see
// silence, and a secondary would not count the peers it turned away.
//
// The monitor's events are read by a thread of the watch's own, all the
// time. That matters: libzmq 4.3 sends monitor events with a blocking send
// from its I/O thread, so a monitor nobody reads stalls every connection
// of the context once its queue fills — and on a listener, any stranger
// can fill it by failing handshakes. The watch keeps counts and the last
// failure; its owner polls them.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <zmq.hpp>

namespace rvg {

class HandshakeWatch {
 public:
  enum class Kind {
    kRefused,            // ZAP said no: our key is not pinned there, or its key not here
    kMechanismMismatch,  // one side uses CURVE, the other does not (--insecure)
    kCryptographic,      // the keys do not fit: the wrong server key is pinned
    kOther,              // anything else, e.g. the connection dropped mid-handshake
  };
  struct Failure {
    Kind kind;
    std::string address;  // the peer's address as ZeroMQ reports it
  };

  // Starts monitoring `monitored`, which lives in `context`. Throws
  // zmq::error_t when ZeroMQ cannot set the monitor up.
  HandshakeWatch(zmq::context_t& context, zmq::socket_t& monitored);
  // Call on the thread that uses `monitored`, before closing it.
  ~HandshakeWatch();
  HandshakeWatch(const HandshakeWatch&) = delete;
  HandshakeWatch& operator=(const HandshakeWatch&) = delete;

  uint64_t failures() const { return failures_.load(); }
  // The newest failure not taken yet, if any.
  std::optional<Failure> TakeFailure();

 private:
  void Drain(zmq::socket_t* pair);

  zmq::socket_t& monitored_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> failures_{0};
  std::mutex mu_;
  std::optional<Failure> last_;
  std::thread thread_;
};

}  // namespace rvg
