// The control channel between rvgadm and one rvgd: ZeroMQ REQ/REP over
// ipc:// in the home's run folder (HOME/run/RVG.ctl). A request and a reply
// are each one frame: a JSON object encoded as msgpack.
//
// Requests carry "cmd" ("status", "stop", "drain", "ping") and per-command
// fields. Replies carry "ok": true plus results, or "ok": false and
// "error": "<one line>".
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace rvg {

// Serves requests on one thread (the caller's) until Stop() is called from
// any thread. The handler runs on the serving thread and may take long (a
// drain with a timeout); other requests wait meanwhile.
class ControlServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;

  // Binds `endpoint`; fails if another daemon already serves it.
  static Result<std::unique_ptr<ControlServer>> Bind(const std::string& endpoint);
  ~ControlServer();

  // Returns after Stop(); each Stop() ends one Serve() call, and Serve()
  // may be called again. Malformed requests get an error reply.
  void Serve(const Handler& handler);
  void Stop();

 private:
  struct Impl;
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One request/reply. Fails (without hanging) when no daemon answers within
// `timeout_ms` — the message then says the daemon is not running and the
// code is ENOTCONN (other codes are real errors, e.g. ENAMETOOLONG for an
// ipc path longer than a Unix socket allows).
Result<nlohmann::json> ControlCall(const std::string& endpoint, const nlohmann::json& request,
                                   int timeout_ms);

}  // namespace rvg
