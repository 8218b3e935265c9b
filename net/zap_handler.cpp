#include "net/zap_handler.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "core/text.h"
#include "net/zmq_util.h"

namespace rvg {

namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr size_t kCurveKeyBytes = 32;

std::string FrameText(const zmq::message_t& frame) {
  return std::string(static_cast<const char*>(frame.data()), frame.size());
}

}  // namespace

ZapHandler::ZapHandler(zmq::context_t* context, std::vector<std::string> pinned_keys,
                       std::string rvg)
    : socket_(*context, zmq::socket_type::rep),
      pinned_keys_(std::move(pinned_keys)),
      rvg_(std::move(rvg)) {}

Result<std::unique_ptr<ZapHandler>> ZapHandler::Bind(zmq::context_t* context,
                                                     std::vector<std::string> pinned_keys,
                                                     const std::string& rvg) {
  std::unique_ptr<ZapHandler> handler(new ZapHandler(context, std::move(pinned_keys), rvg));
  try {
    handler->socket_.set(zmq::sockopt::linger, 0);
    handler->socket_.bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    return Status::Error(std::string("cannot start the CURVE authenticator: ") + e.what(), e.num());
  }
  return handler;
}

void ZapHandler::HandleRequests() {
  std::vector<zmq::message_t> request;
  // A CURVE request has 7 frames; one more shows a malformed request.
  while (ReceiveMessage(socket_, &request, 8)) Answer(request);
}

// Request: version, request id, domain, address, routing id, mechanism,
// credentials... Reply: version, request id, status code, status text,
// user id, metadata.
void ZapHandler::Answer(std::vector<zmq::message_t>& request) {
  std::string version = request.size() >= 6 ? FrameText(request[0]) : "";
  std::string request_id = request.size() >= 2 ? FrameText(request[1]) : "";
  std::string address = request.size() >= 4 ? FrameText(request[3]) : "?";
  std::string mechanism = request.size() >= 6 ? FrameText(request[5]) : "";
  std::string key;
  std::string refusal;
  if (version != "1.0") {
    refusal = "malformed ZAP request";
  } else if (mechanism != "CURVE" || request.size() != 7 ||
             request[6].size() != kCurveKeyBytes) {
    refusal = "it offered no CURVE key (mechanism " + Printable(mechanism) +
              "); is it an insecure primary?";
  } else {
    char z85[41] = {};
    zmq_z85_encode(z85, static_cast<const uint8_t*>(request[6].data()), kCurveKeyBytes);
    key = z85;
    if (std::find(pinned_keys_.begin(), pinned_keys_.end(), key) == pinned_keys_.end()) {
      refusal = "its key " + key + " is not the pinned primary key (if it is your primary, "
                "pin it here: rvgadm trust " + rvg_ + " " + key + ")";
    }
  }
  if (!refusal.empty()) {
    uint64_t suppressed = 0;
    if (log_limit_.Allow(&suppressed)) {
      spdlog::warn("refused a connection from {}: {}{}", Printable(address), refusal,
                   suppressed ? " (" + std::to_string(suppressed) + " more not logged)" : "");
    }
  }
  const bool admit = refusal.empty();
  std::vector<std::string> reply = {"1.0", request_id, admit ? "200" : "400",
                                    admit ? "OK" : "not the pinned primary", admit ? key : "",
                                    ""};
  for (size_t i = 0; i < reply.size(); ++i) {
    zmq::message_t frame(reply[i].data(), reply[i].size());
    auto flags = i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
    if (!socket_.send(frame, flags | zmq::send_flags::dontwait)) return;
  }
}

}  // namespace rvg
