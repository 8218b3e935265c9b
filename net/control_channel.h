// The control channel between rvgadm and one rvgd: ZeroMQ over ipc:// in
// the home's run folder (HOME/run/RVG.ctl). rvgadm sends from a REQ socket;
// rvgd serves a ROUTER socket, so that it can answer requests out of order
// (a drain answers when it is done, while status and stop are answered at
// once). A request and a reply are each one frame: a msgpack map
// (net/control_codec.h, which bounds depth, counts and size).
//
// Requests carry "cmd" ("status", "stop", "drain", "ping") and per-command
// fields. Replies carry "ok": true plus results, or "ok": false and
// "error": "<one line>".
//
// Who may talk to rvgd: the socket file is mode 0600 in a 0700 folder, and
// a ZAP handler on the server admits only connections whose peer (the
// kernel's SO_PEERCRED, which libzmq hands to ZAP as "host:uid:gid:pid")
// runs as rvgd's own effective uid or as root; every other connection is
// closed during the handshake, before it can deliver a single frame.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace rvg {

// Limits on what one request may ask of rvgd.
inline constexpr size_t kMaxControlFrames = 1;       // frames of one request
inline constexpr size_t kMaxDeferredRequests = 8;    // slow requests running at once
inline constexpr double kMaxControlTimeoutSeconds = 7 * 24 * 3600;

// A timeout given to a control request (drain --timeout) is usable when it
// is a finite number of seconds from 0 to kMaxControlTimeoutSeconds.
// `what` names it in the error ("--timeout", "drain timeout").
Status CheckControlTimeout(double seconds, const std::string& what);

// Serves requests on one thread (the caller's) until Stop() is called from
// any thread. The handler runs on the serving thread and must answer
// quickly; a request that takes long (a drain) is answered "later": its
// work runs on a thread of its own, other requests are served meanwhile,
// and its result is sent back when it is done.
class ControlServer {
 public:
  struct Answer {
    Answer(nlohmann::json now) : reply(std::move(now)) {}  // NOLINT: implicit by design
    static Answer Later(std::function<nlohmann::json()> work) {
      Answer answer(nullptr);
      answer.later = std::move(work);
      return answer;
    }
    nlohmann::json reply;                   // the reply, when `later` is empty
    std::function<nlohmann::json()> later;  // else: runs off the serving thread
  };
  using Handler = std::function<Answer(const nlohmann::json& request)>;

  // Binds `endpoint`; fails if another daemon already serves it.
  static Result<std::unique_ptr<ControlServer>> Bind(const std::string& endpoint);
  ~ControlServer();

  // Returns after Stop(); each Stop() ends one Serve() call, and Serve()
  // may be called again. Malformed requests get an error reply. Work
  // answered "later" goes on across Serve() calls.
  void Serve(const Handler& handler);
  void Stop();

  // Waits until the work of every request answered "later" has finished
  // and sends the replies. The caller first makes that work end (rvgd's
  // stop cancels the drains); the destructor waits for it too, replying to
  // nobody.
  void FinishDeferred();

 private:
  struct Impl;
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One request/reply. Fails (without hanging) when no daemon answers within
// `timeout_ms` — the message then says the daemon is not running and the
// code is ENOTCONN (other codes are real errors, e.g. ENAMETOOLONG for an
// ipc path longer than a Unix socket allows, EACCES for a socket this user
// may not open). The reply is decoded with DecodeControlMessage.
Result<nlohmann::json> ControlCall(const std::string& endpoint, const nlohmann::json& request,
                                   int timeout_ms);

}  // namespace rvg
