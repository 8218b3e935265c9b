#include "net/handshake_watch.h"

#include <atomic>
#include <cstring>

#include "net/zmq_util.h"

namespace rvg {

namespace {

constexpr int kEvents = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                        ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                        ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;

std::string UniqueEndpoint() {
  static std::atomic<uint64_t> next{0};
  return "inproc://rvg-handshake-watch-" + std::to_string(next.fetch_add(1));
}

}  // namespace

HandshakeWatch::HandshakeWatch(zmq::context_t& context, zmq::socket_t& monitored)
    : monitored_(monitored), pair_(context, zmq::socket_type::pair) {
  std::string endpoint = UniqueEndpoint();
  if (zmq_socket_monitor(monitored_.handle(), endpoint.c_str(), kEvents) != 0) {
    throw zmq::error_t();
  }
  pair_.set(zmq::sockopt::linger, 0);
  pair_.connect(endpoint);
}

HandshakeWatch::~HandshakeWatch() {
  // Stop the monitor before its PAIR goes, so ZeroMQ does not queue
  // events for a peer that is gone.
  zmq_socket_monitor(monitored_.handle(), nullptr, 0);
}

std::vector<HandshakeWatch::Event> HandshakeWatch::Take() {
  std::vector<Event> events;
  std::vector<zmq::message_t> frames;
  while (ReceiveMessage(pair_, &frames)) {
    // Frame 1: uint16 event id + uint32 value; frame 2: the address.
    if (frames.size() < 2 || frames[0].size() < 6) continue;
    uint16_t id;
    std::memcpy(&id, frames[0].data(), sizeof(id));
    Kind kind = Kind::kFailed;
    if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) kind = Kind::kSucceeded;
    if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) kind = Kind::kRefused;
    events.push_back({kind, std::string(static_cast<const char*>(frames[1].data()),
                                        frames[1].size())});
  }
  return events;
}

}  // namespace rvg
