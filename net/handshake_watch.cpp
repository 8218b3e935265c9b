#include "net/handshake_watch.h"

#include <cstring>
#include <memory>

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

HandshakeWatch::Kind KindOf(uint16_t event, uint32_t value) {
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) return HandshakeWatch::Kind::kRefused;
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
      return HandshakeWatch::Kind::kMechanismMismatch;
    }
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC) return HandshakeWatch::Kind::kCryptographic;
  }
  return HandshakeWatch::Kind::kOther;
}

}  // namespace

HandshakeWatch::HandshakeWatch(zmq::context_t& context, zmq::socket_t& monitored)
    : monitored_(monitored) {
  std::string endpoint = UniqueEndpoint();
  if (zmq_socket_monitor(monitored_.handle(), endpoint.c_str(), kEvents) != 0) {
    throw zmq::error_t();
  }
  auto pair = std::make_unique<zmq::socket_t>(context, zmq::socket_type::pair);
  pair->set(zmq::sockopt::linger, 0);
  pair->connect(endpoint);
  // The PAIR belongs to the drain thread from here on.
  thread_ = std::thread([this, p = pair.release()] {
    std::unique_ptr<zmq::socket_t> owned(p);
    Drain(owned.get());
  });
}

HandshakeWatch::~HandshakeWatch() {
  // Stopping the monitor may wait for libzmq to hand over queued events,
  // which only works while the drain thread still reads them.
  zmq_socket_monitor(monitored_.handle(), nullptr, 0);
  stop_ = true;
  thread_.join();
}

std::optional<HandshakeWatch::Failure> HandshakeWatch::TakeFailure() {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<Failure> failure = std::move(last_);
  last_.reset();
  return failure;
}

void HandshakeWatch::Drain(zmq::socket_t* pair) {
  std::vector<zmq::message_t> frames;
  while (!stop_) {
    zmq::pollitem_t item{pair->handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
    } catch (const zmq::error_t&) {
      continue;  // EINTR
    }
    while (ReceiveMessage(*pair, &frames)) {
      // Frame 1: uint16 event id + uint32 value; frame 2: the address.
      if (frames.size() < 2 || frames[0].size() < 6) continue;
      uint16_t event;
      uint32_t value;
      std::memcpy(&event, frames[0].data(), sizeof(event));
      std::memcpy(&value, static_cast<const char*>(frames[0].data()) + 2, sizeof(value));
      if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) continue;
      ++failures_;
      std::lock_guard<std::mutex> lock(mu_);
      last_ = Failure{KindOf(event, value), std::string(static_cast<const char*>(frames[1].data()),
                                                        frames[1].size())};
    }
  }
}

}  // namespace rvg
