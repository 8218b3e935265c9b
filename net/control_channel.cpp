#include "net/control_channel.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include <zmq.hpp>

namespace rvg {

namespace {

constexpr int kServePollMs = 200;          // how soon Serve() notices Stop()
constexpr int kProbeTimeoutMs = 300;       // "does anyone serve this socket?"
constexpr int kCloseFlushMs = 1000;        // time a last reply gets to leave on close
constexpr int64_t kMaxMessageBytes = 1 << 20;

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

// Whether something accepts connections on the Unix socket at `path`. A
// socket file left by a daemon that died refuses them at once, which saves
// waiting out a timeout for an answer that cannot come.
bool Listening(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;  // cannot tell: let ZeroMQ try
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  bool refused = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 &&
                 (errno == ECONNREFUSED || errno == ENOENT);
  ::close(fd);
  return !refused;
}

Status NotRunning(const std::string& endpoint) {
  return Status::Error("rvgd is not running for this RVG (no answer on " + endpoint + ")",
                       ENOTCONN);
}

zmq::message_t Encode(const nlohmann::json& value) {
  std::vector<uint8_t> bytes = nlohmann::json::to_msgpack(value);
  return zmq::message_t(bytes.data(), bytes.size());
}

nlohmann::json ErrorReply(const std::string& message) {
  return nlohmann::json{{"ok", false}, {"error", message}};
}

// Receives every frame of one message (a REP socket must answer the whole
// message once, however many frames a peer sent).
std::vector<zmq::message_t> ReceiveAll(zmq::socket_t& socket) {
  std::vector<zmq::message_t> frames;
  do {
    zmq::message_t frame;
    if (!socket.recv(frame, zmq::recv_flags::none)) break;
    frames.push_back(std::move(frame));
  } while (socket.get(zmq::sockopt::rcvmore));
  return frames;
}

// A REP socket that fails to send stays in its sending state and would
// never read another request: a send interrupted by a signal is retried.
void SendReply(zmq::socket_t& socket, zmq::message_t& reply) {
  for (;;) {
    try {
      socket.send(reply, zmq::send_flags::none);
      return;
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
  }
}

nlohmann::json Answer(const std::vector<zmq::message_t>& frames,
                      const ControlServer::Handler& handler) {
  if (frames.size() != 1) {
    return ErrorReply("malformed control request: expected 1 frame, got " +
                      std::to_string(frames.size()));
  }
  nlohmann::json request;
  try {
    const auto* data = static_cast<const uint8_t*>(frames[0].data());
    request = nlohmann::json::from_msgpack(data, data + frames[0].size());
  } catch (const std::exception& e) {
    return ErrorReply(std::string("malformed control request: ") + e.what());
  }
  if (!request.is_object()) {
    return ErrorReply("malformed control request: not a msgpack map");
  }
  try {
    return handler(request);
  } catch (const std::exception& e) {
    return ErrorReply(std::string("internal error answering the control request: ") + e.what());
  }
}

}  // namespace

struct ControlServer::Impl {
  zmq::context_t context{1};
  zmq::socket_t socket{context, zmq::socket_type::rep};
  std::atomic<bool> stop_requested{false};
  std::string socket_path;  // ipc only: the file this server bound
  ino_t socket_inode = 0;
};

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() {
  // Serve() may have just sent the reply to "stop": give it a moment to
  // leave instead of dropping it, but never wait for a peer that is gone.
  try {
    impl_->socket.set(zmq::sockopt::linger, kCloseFlushMs);
    impl_->socket.close();
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
    impl->socket.set(zmq::sockopt::linger, 0);
    impl->socket.set(zmq::sockopt::maxmsgsize, kMaxMessageBytes);
    impl->socket.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Error("binding control socket " + endpoint + ": " + e.what(), e.num());
  }
  struct stat st;
  if (IsIpc(endpoint) && ::stat(IpcPath(endpoint).c_str(), &st) == 0) {
    impl->socket_path = IpcPath(endpoint);
    impl->socket_inode = st.st_ino;
  }
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

void ControlServer::Serve(const Handler& handler) {
  zmq::socket_t& socket = impl_->socket;
  // exchange(): each Stop() ends exactly one Serve(), so the caller may
  // serve again (rvgd does when a signalled stop was refused).
  while (!impl_->stop_requested.exchange(false)) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(kServePollMs)) == 0) continue;
      std::vector<zmq::message_t> frames = ReceiveAll(socket);
      if (frames.empty()) continue;
      zmq::message_t reply = Encode(Answer(frames, handler));
      SendReply(socket, reply);
    } catch (const zmq::error_t& e) {
      // EINTR (a signal) and a peer vanishing mid-reply are not fatal: the
      // REP socket resets to its receiving state and serving goes on.
      if (e.num() == ETERM) return;
    }
  }
}

void ControlServer::Stop() { impl_->stop_requested.store(true); }

Result<nlohmann::json> ControlCall(const std::string& endpoint, const nlohmann::json& request,
                                   int timeout_ms) {
  Status status = CheckEndpoint(endpoint);
  if (!status.ok()) return status;
  if (IsIpc(endpoint) && !Listening(IpcPath(endpoint))) return NotRunning(endpoint);
  try {
    zmq::context_t context(1);
    zmq::socket_t socket(context, zmq::socket_type::req);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::maxmsgsize, kMaxMessageBytes);
    socket.connect(endpoint);
    zmq::message_t message = Encode(request);
    // A REQ socket queues the request until the connection is up; a
    // non-blocking send only fails when it cannot even queue it.
    if (!socket.send(message, zmq::send_flags::dontwait)) return NotRunning(endpoint);
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) == 0) {
      return NotRunning(endpoint);
    }
    std::vector<zmq::message_t> frames = ReceiveAll(socket);
    if (frames.empty()) return NotRunning(endpoint);
    const auto* data = static_cast<const uint8_t*>(frames[0].data());
    nlohmann::json reply = nlohmann::json::from_msgpack(data, data + frames[0].size());
    if (!reply.is_object()) {
      return Status::Error("rvgd sent a malformed reply on " + endpoint + " (not a map)");
    }
    return reply;
  } catch (const zmq::error_t& e) {
    return Status::Error("control call on " + endpoint + ": " + e.what(), e.num());
  } catch (const nlohmann::json::exception& e) {
    return Status::Error("rvgd sent a malformed reply on " + endpoint + ": " + e.what());
  }
}

}  // namespace rvg
