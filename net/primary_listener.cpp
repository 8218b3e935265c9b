#include "net/primary_listener.h"

#include <spdlog/spdlog.h>

#include "core/text.h"
#include "net/messages.h"
#include "net/curve_server.h"
#include "net/rlink_receiver.h"  // kGenericRefusal
#include "net/zmq_util.h"

namespace rvg {

PrimaryListener::PrimaryListener(PrimaryListenerConfig config, zmq::context_t* context)
    : config_(std::move(config)), context_(context), wakeup_(Wakeup::Create()) {}

PrimaryListener::~PrimaryListener() {
  stop_ = true;
  wakeup_->Signal();
  if (thread_.joinable()) thread_.join();
  socket_.reset();
  zap_.reset();
}

Result<std::unique_ptr<PrimaryListener>> PrimaryListener::Start(PrimaryListenerConfig config,
                                                                 zmq::context_t* context) {
  std::unique_ptr<PrimaryListener> l(new PrimaryListener(std::move(config), context));
  Status st = l->Bind();
  if (!st.ok()) return st;
  l->thread_ = std::thread([p = l.get()] { p->Run(); });
  return l;
}

Status PrimaryListener::Bind() {
  ServerSocketOptions options;
  options.rvg_name = config_.rvg_name;
  options.listen = config_.listen;
  options.insecure = config_.insecure;
  options.secret_key = config_.secret_key;
  options.peer_keys = config_.peer_keys;
  options.max_frame_bytes = static_cast<int64_t>(kMaxHeaderBytes + 256);  // HELLO is all it reads
  options.receive_queue = 64;
  Result<ServerSocket> server = BindServerSocket(context_, options, {});
  if (!server.ok()) return server.status();
  zap_ = std::move(server->zap);
  socket_ = std::move(server->socket);
  return Status::Ok();
}

void PrimaryListener::Run() {
  std::vector<zmq::message_t> frames;
  while (!stop_) {
    WaitForServerWork(*socket_, zap_.get(), *wakeup_, std::chrono::milliseconds(200));
    int budget = 64;
    while (budget-- > 0 && ReceiveMessage(*socket_, &frames, 3)) Answer(frames);
  }
}

void PrimaryListener::Answer(std::vector<zmq::message_t>& frames) {
  if (frames.size() != 2) return;  // [routing id, header]: nothing else is ever answered
  Result<Message> decoded = DecodeHeader(frames[1].data(), frames[1].size());
  const HelloMsg* h = decoded.ok() ? std::get_if<HelloMsg>(&*decoded) : nullptr;
  if (h == nullptr) return;
  ++refused_;
  const char* user = zmq_msg_gets(frames[1].handle(), "User-Id");
  const bool authenticated = user != nullptr && *user != '\0';
  const std::string why = "host " + Printable(config_.host) + " is the primary of RVG " +
                          config_.rvg_name + " now: this host follows it, not you";
  uint64_t suppressed = 0;
  if (log_.Allow(&suppressed)) {
    spdlog::warn("refused a HELLO from primary rlink {} (host {}): this host is the primary{}",
                 Printable(h->rlink_name), Printable(h->host),
                 suppressed ? " (" + std::to_string(suppressed) + " more not logged)" : "");
  }
  if (!replies_.Allow()) return;
  RejectMsg r;
  r.session_id = h->session_id;
  r.retry = false;
  if (authenticated && h->rvg_name == config_.rvg_name) {
    r.reason = why;
    r.history = config_.history();
    r.last_seq = config_.last_seq();
    r.primary = true;
  } else {
    r.reason = kGenericRefusal;
  }
  zmq::message_t id(frames[0].data(), frames[0].size());
  SendMessage(*socket_, {&id}, Encode(r), nullptr);
}

}  // namespace rvg
