#include "net/control_channel.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "net/control_codec.h"
#include "net/rate_limiter.h"
#include "net/wakeup.h"

namespace rvg {

namespace {

constexpr int kServePollMs = 200;          // how soon Serve() notices Stop()
constexpr int kProbeTimeoutMs = 300;       // "does anyone serve this socket?"
constexpr int kLivenessProbeMs = 500;      // between checks that rvgd still runs
constexpr int kCloseFlushMs = 1000;        // time a last reply gets to leave on close

constexpr std::string_view kIpcPrefix = "ipc://";

bool IsIpc(const std::string& endpoint) {
  return endpoint.compare(0, kIpcPrefix.size(), kIpcPrefix) == 0;
}

std::string IpcPath(const std::string& endpoint) {
  return endpoint.substr(kIpcPrefix.size());
}

// A Unix socket path must fit sockaddr_un::sun_path with its NUL; ZeroMQ
// would otherwise fail with a bare "File name too long".
Status CheckEndpoint(const std::string& endpoint) {
  if (!IsIpc(endpoint)) return Status::Ok();
  const size_t limit = sizeof(sockaddr_un{}.sun_path) - 1;
  std::string path = IpcPath(endpoint);
  if (path.empty()) return Status::Error("control endpoint " + endpoint + " has no path", EINVAL);
  if (path.size() > limit) {
    return Status::Error("control socket path " + path + " is " + std::to_string(path.size()) +
                             " bytes, longer than the " + std::to_string(limit) +
                             " a Unix socket allows; use a shorter --home",
                         ENAMETOOLONG);
  }
  return Status::Ok();
}

// Whether something accepts connections on the Unix socket at `path`:
// ENOTCONN when nothing does (a socket file left by a daemon that died
// refuses connections at once, which saves waiting out a timeout for an
// answer that cannot come), EACCES when this user may not connect. Never
// blocks: a full backlog (a frozen daemon) is EAGAIN, counted as alive.
Status Reachable(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::Ok();  // cannot tell: let ZeroMQ try
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  int err = errno;
  ::close(fd);
  if (rc == 0) return Status::Ok();
  if (err == ECONNREFUSED || err == ENOENT) return Status::Error("not listening", ENOTCONN);
  if (err == EACCES || err == EPERM) {
    return Status::Error("permission denied on rvgd's control socket " + path +
                             ": run rvgadm as the user that runs rvgd, or as root",
                         EACCES);
  }
  return Status::Ok();
}

Status NotRunning(const std::string& endpoint) {
  return Status::Error("rvgd is not running for this RVG (no answer on " + endpoint + ")",
                       ENOTCONN);
}

zmq::message_t Encode(const nlohmann::json& value) {
  std::vector<uint8_t> bytes = EncodeControlMessage(value);
  return zmq::message_t(bytes.data(), bytes.size());
}

nlohmann::json ErrorReply(const std::string& message) {
  return nlohmann::json{{"ok", false}, {"error", message}};
}

// Receives one message, keeping at most `keep` frames: the rest are read
// and dropped as they come, so a peer that sends thousands of frames
// costs their count, not a vector of them. `*total` gets the frame count.
std::vector<zmq::message_t> ReceiveFrames(zmq::socket_t& socket, size_t keep, size_t* total) {
  std::vector<zmq::message_t> frames;
  *total = 0;
  do {
    zmq::message_t frame;
    if (!socket.recv(frame, zmq::recv_flags::none)) break;
    if (++*total <= keep) frames.push_back(std::move(frame));
  } while (socket.get(zmq::sockopt::rcvmore));
  return frames;
}

// Sends a multipart message, retrying a send interrupted by a signal.
// ROUTER and ZAP's REP never block here: a ROUTER drops a reply to a peer
// that has gone.
void SendFrames(zmq::socket_t& socket, std::vector<zmq::message_t>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
    for (;;) {
      try {
        socket.send(frames[i], flags);
        break;
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
      }
    }
  }
}

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr const char* kZapDomain = "rvg-control";
constexpr size_t kZapRequestFrames = 6;  // version, id, domain, address, routing id, mechanism

// The uid in the address libzmq gives ZAP for an ipc peer:
// "HOST:UID:GID:PID" (SO_PEERCRED). Without it nobody is admitted: a
// libzmq built without SO_PEERCRED support would leave rvgd unusable
// rather than open.
bool PeerUid(const std::string& address, uid_t* uid) {
  size_t pid_colon = address.rfind(':');
  if (pid_colon == std::string::npos || pid_colon == 0) return false;
  size_t gid_colon = address.rfind(':', pid_colon - 1);
  if (gid_colon == std::string::npos || gid_colon == 0) return false;
  size_t uid_colon = address.rfind(':', gid_colon - 1);
  if (uid_colon == std::string::npos) return false;
  std::string text = address.substr(uid_colon + 1, gid_colon - uid_colon - 1);
  if (text.empty() || text.size() > 10 || text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *uid = static_cast<uid_t>(std::stoul(text));
  return true;
}

}  // namespace

Status CheckControlTimeout(double seconds, const std::string& what) {
  if (std::isfinite(seconds) && seconds >= 0 && seconds <= kMaxControlTimeoutSeconds) {
    return Status::Ok();
  }
  return Status::Error(what + " " + fmt::format("{}", seconds) + " must be a number of seconds from 0 to " +
                           std::to_string(static_cast<int64_t>(kMaxControlTimeoutSeconds)) +
                           " (a week)",
                       EINVAL);
}

// A request answered "later": its work runs on `thread`; `reply` is set,
// under ControlServer::Impl::mu, when it is done.
struct Deferred {
  std::string peer;  // the ROUTER routing id to answer
  std::thread thread;
  std::optional<nlohmann::json> reply;
};

struct ControlServer::Impl {
  zmq::context_t context{1};
  zmq::socket_t socket{context, zmq::socket_type::router};
  zmq::socket_t zap{context, zmq::socket_type::rep};
  std::shared_ptr<Wakeup> wakeup = Wakeup::Create();  // Stop() and finished work
  std::atomic<bool> stop_requested{false};
  std::string socket_path;  // ipc only: the file this server bound
  ino_t socket_inode = 0;
  RateLimiter refusals{5, std::chrono::seconds(60)};

  // The serving thread adds and removes entries; a worker only sets its
  // own entry's reply. Both under mu.
  std::mutex mu;
  std::list<Deferred> deferred;

  void AnswerZap();
  void HandleRequest(const Handler& handler);
  void Reply(const std::string& peer, const nlohmann::json& reply);
  void SendFinished();
  bool AnyDeferred() {
    std::lock_guard<std::mutex> lock(mu);
    return !deferred.empty();
  }
};

// One ZAP request: admits the connection when its peer runs as our
// effective uid or as root. The reply's user id ("uid:N") becomes the
// "User-Id" of every message on that connection, which HandleRequest
// checks again.
void ControlServer::Impl::AnswerZap() {
  size_t total = 0;
  std::vector<zmq::message_t> request = ReceiveFrames(zap, kZapRequestFrames, &total);
  if (request.empty()) return;  // nothing was waiting
  // A REP socket must answer every request, or it never reads another: a
  // short one (libzmq never sends that) is refused, not left unanswered.
  const bool complete = request.size() >= kZapRequestFrames;
  std::string address = complete ? request[3].to_string() : "?";
  uid_t uid = 0;
  bool known = complete && PeerUid(address, &uid);
  bool allowed = known && (uid == ::geteuid() || uid == 0);
  if (!allowed) {
    uint64_t suppressed = 0;
    if (refusals.Allow(&suppressed)) {
      uid_t me = ::geteuid();
      spdlog::warn("refused a control connection from {} ({}; only {} may control this rvgd){}",
                   address, known ? "uid " + std::to_string(uid) : "its uid is unknown",
                   me == 0 ? std::string("root") : "uid " + std::to_string(me) + " and root",
                   suppressed ? fmt::format(" ({} more refusals not logged)", suppressed) : "");
    }
  }
  std::vector<zmq::message_t> reply;
  reply.emplace_back(std::string_view("1.0"));
  if (request.size() >= 2) {
    reply.push_back(std::move(request[1]));  // request id
  } else {
    reply.emplace_back();
  }
  reply.emplace_back(std::string_view(allowed ? "200" : "400"));
  reply.emplace_back(std::string_view(allowed ? "OK" : "uid not allowed"));
  reply.emplace_back(allowed ? "uid:" + std::to_string(uid) : std::string());
  reply.emplace_back();  // no metadata
  SendFrames(zap, reply);
}

void ControlServer::Impl::Reply(const std::string& peer, const nlohmann::json& reply) {
  std::vector<zmq::message_t> frames;
  frames.emplace_back(peer.data(), peer.size());
  frames.emplace_back();  // the REQ envelope's delimiter
  frames.push_back(Encode(reply));
  SendFrames(socket, frames);
}

// Reads one request: [routing id][empty delimiter][body], body a control
// message, from a peer the ZAP handler admitted.
void ControlServer::Impl::HandleRequest(const Handler& handler) {
  size_t total = 0;
  std::vector<zmq::message_t> frames = ReceiveFrames(socket, 2 + kMaxControlFrames, &total);
  if (frames.size() < 2 || frames[1].size() != 0) return;  // not a REQ peer: nothing to answer
  std::string peer = frames[0].to_string();
  // Frames from the wire carry the connection's metadata (the routing id
  // that the ROUTER made up does not). zmq_msg_gets, because cppzmq's
  // gets() throws for a missing property.
  const char* user = zmq_msg_gets(frames[1].handle(), "User-Id");
  if (user == nullptr || std::string_view(user).rfind("uid:", 0) != 0) {
    return;  // never admitted by AnswerZap: no reply
  }
  if (total != 2 + kMaxControlFrames) {
    Reply(peer, ErrorReply("malformed control request: expected " +
                           std::to_string(kMaxControlFrames) + " frame, got " +
                           std::to_string(total - 2)));
    return;
  }
  Result<nlohmann::json> request = DecodeControlMessage(frames[2].data(), frames[2].size());
  if (!request.ok()) {
    Reply(peer, ErrorReply(request.status().message()));
    return;
  }
  Answer answer(nullptr);
  try {
    answer = handler(*request);
  } catch (const std::exception& e) {
    answer = ErrorReply(std::string("internal error answering the control request: ") + e.what());
  }
  if (!answer.later) {
    Reply(peer, answer.reply);
    return;
  }
  std::lock_guard<std::mutex> lock(mu);
  if (deferred.size() >= kMaxDeferredRequests) {
    Reply(peer, ErrorReply(std::to_string(deferred.size()) +
                           " slow requests (drains) are running already; wait for one to end"));
    return;
  }
  Deferred& slot = deferred.emplace_back();
  slot.peer = peer;
  // The list never moves its elements, so `slot` stays valid for the thread.
  slot.thread = std::thread([this, &slot, work = std::move(answer.later)] {
    nlohmann::json reply;
    try {
      reply = work();
    } catch (const std::exception& e) {
      reply = ErrorReply(std::string("internal error answering the control request: ") + e.what());
    }
    {
      std::lock_guard<std::mutex> done(mu);
      slot.reply = std::move(reply);
    }
    wakeup->Signal();
  });
}

// Sends the replies of finished deferred work and joins its threads.
void ControlServer::Impl::SendFinished() {
  std::list<Deferred> finished;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = deferred.begin(); it != deferred.end();) {
      auto next = std::next(it);
      if (it->reply) finished.splice(finished.end(), deferred, it);
      it = next;
    }
  }
  for (Deferred& d : finished) {
    d.thread.join();
    Reply(d.peer, *d.reply);
  }
}

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() {
  // Deferred work refers to the handler's world: it must end before that
  // does. Its replies have nobody left to wait for them.
  // Only the serving thread changes the list, and that is this one now.
  for (Deferred& d : impl_->deferred) d.thread.join();
  // Serve() may have just sent the reply to "stop": give it a moment to
  // leave instead of dropping it, but never wait for a peer that is gone.
  try {
    impl_->socket.set(zmq::sockopt::linger, kCloseFlushMs);
    impl_->socket.close();
    impl_->zap.close();
  } catch (const zmq::error_t&) {
  }
  // ZeroMQ leaves the socket file behind. Remove it unless a newer daemon
  // has bound the path since (then the file is another inode).
  struct stat st;
  if (!impl_->socket_path.empty() && ::stat(impl_->socket_path.c_str(), &st) == 0 &&
      st.st_ino == impl_->socket_inode) {
    ::unlink(impl_->socket_path.c_str());
  }
}

Result<std::unique_ptr<ControlServer>> ControlServer::Bind(const std::string& endpoint) {
  Status status = CheckEndpoint(endpoint);
  if (!status.ok()) return status;
  if (IsIpc(endpoint)) {
    // ZeroMQ unlinks an existing socket file when binding, which would
    // silently steal the endpoint from a live daemon: ask first.
    std::string path = IpcPath(endpoint);
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
      Result<nlohmann::json> reply = ControlCall(endpoint, {{"cmd", "ping"}}, kProbeTimeoutMs);
      if (reply.ok()) {
        return Status::Error("another rvgd already serves " + endpoint +
                                 "; stop it first or use another --home",
                             EADDRINUSE);
      }
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return Status::FromErrno(errno, "removing stale control socket " + path);
      }
    }
  }
  auto impl = std::make_unique<Impl>();
  try {
    // The ZAP handler exists before the first connection can arrive.
    impl->zap.set(zmq::sockopt::linger, 0);
    impl->zap.bind(kZapEndpoint);
    impl->socket.set(zmq::sockopt::linger, 0);
    impl->socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMaxControlMessageBytes));
    impl->socket.set(zmq::sockopt::zap_domain, kZapDomain);
    impl->socket.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Error("binding control socket " + endpoint + ": " + e.what(), e.num());
  }
  struct stat st;
  if (IsIpc(endpoint) && ::stat(IpcPath(endpoint).c_str(), &st) == 0) {
    impl->socket_path = IpcPath(endpoint);
    impl->socket_inode = st.st_ino;
    // Until this chmod the file has the umask's mode, but it sits in the
    // home's run folder (0700, checked at start): nobody else can reach it.
    if (::chmod(impl->socket_path.c_str(), 0600) != 0) {
      return Status::FromErrno(errno, "making control socket " + impl->socket_path + " private");
    }
  }
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

void ControlServer::Serve(const Handler& handler) {
  Impl& s = *impl_;
  // exchange(): each Stop() ends exactly one Serve(), so the caller may
  // serve again (rvgd does when a signalled stop was refused).
  while (!s.stop_requested.exchange(false)) {
    zmq::pollitem_t items[] = {{s.socket.handle(), 0, ZMQ_POLLIN, 0},
                               {s.zap.handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, s.wakeup->fd(), ZMQ_POLLIN, 0}};
    try {
      if (zmq::poll(items, 3, std::chrono::milliseconds(kServePollMs)) == 0) continue;
      if (items[2].revents & ZMQ_POLLIN) {
        s.wakeup->Drain();
        s.SendFinished();
      }
      if (items[1].revents & ZMQ_POLLIN) s.AnswerZap();
      if (items[0].revents & ZMQ_POLLIN) s.HandleRequest(handler);
    } catch (const zmq::error_t& e) {
      // EINTR (a signal) is not fatal: serving goes on.
      if (e.num() == ETERM) return;
    }
  }
}

void ControlServer::Stop() {
  impl_->stop_requested.store(true);
  impl_->wakeup->Signal();
}

void ControlServer::FinishDeferred() {
  Impl& s = *impl_;
  while (s.AnyDeferred()) {
    zmq::pollitem_t item{nullptr, s.wakeup->fd(), ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(kServePollMs)) > 0) s.wakeup->Drain();
      s.SendFinished();
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
    }
  }
}

// Waits up to `timeout_ms` for the reply, in slices: between them a Unix
// socket is probed, so a daemon that dies while it works on a long
// command (a migrate waits minutes) ends the wait at once instead of at
// the timeout — a REQ socket alone would wait for a reconnect forever.
static Status WaitForReply(zmq::socket_t& socket, const std::string& endpoint, int timeout_ms) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return NotRunning(endpoint);
    const auto slice = std::min(left, std::chrono::milliseconds(kLivenessProbeMs));
    if (zmq::poll(&item, 1, slice) > 0) return Status::Ok();
    if (IsIpc(endpoint) && Reachable(IpcPath(endpoint)).code() == ENOTCONN) {
      return Status::Error("rvgd stopped before it answered on " + endpoint +
                               " (it died or was killed: see its log, then rvgadm status)",
                           ENOTCONN);
    }
  }
}

Result<nlohmann::json> ControlCall(const std::string& endpoint, const nlohmann::json& request,
                                   int timeout_ms) {
  Status status = CheckEndpoint(endpoint);
  if (!status.ok()) return status;
  if (IsIpc(endpoint)) {
    status = Reachable(IpcPath(endpoint));
    if (!status.ok()) return status.code() == ENOTCONN ? NotRunning(endpoint) : status;
  }
  try {
    zmq::context_t context(1);
    zmq::socket_t socket(context, zmq::socket_type::req);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMaxControlMessageBytes));
    socket.connect(endpoint);
    zmq::message_t message = Encode(request);
    // A REQ socket queues the request until the connection is up; a
    // non-blocking send only fails when it cannot even queue it.
    if (!socket.send(message, zmq::send_flags::dontwait)) return NotRunning(endpoint);
    Status waited = WaitForReply(socket, endpoint, timeout_ms);
    if (!waited.ok()) return waited;
    size_t total = 0;
    std::vector<zmq::message_t> frames = ReceiveFrames(socket, 1, &total);
    if (frames.empty()) return NotRunning(endpoint);
    if (total != 1) {
      return Status::Error("rvgd sent a malformed reply on " + endpoint + " (" +
                           std::to_string(total) + " frames)");
    }
    Result<nlohmann::json> reply = DecodeControlMessage(frames[0].data(), frames[0].size());
    if (!reply.ok()) return reply.status().Annotate("rvgd's reply on " + endpoint);
    return reply;
  } catch (const zmq::error_t& e) {
    return Status::Error("control call on " + endpoint + ": " + e.what(), e.num());
  }
}

}  // namespace rvg
