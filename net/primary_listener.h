// PrimaryListener: a primary's ear on its listen endpoint (doc/failover.md).
//
// Only one host of an RVG is primary; the one that listens here now is.
// A HELLO that arrives anyway comes from a host that still thinks it is
// the primary — an old primary returning after a takeover — and is answered
// with a REJECT (retry false) that says so and carries this host's
// generation history and last seq, so that the old primary finds itself
// behind and steps down (fast failback).
//
// The same rules as RlinkReceiver: a CURVE server whose ZapHandler admits
// only the keys of the RVG's hosts; an unauthenticated (insecure) peer
// learns nothing but the generic refusal; answers and log lines are rate
// limited; frames are bounded. Everything else that arrives is dropped.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "core/generation_history.h"
#include "core/status.h"
#include "net/rate_limiter.h"
#include "net/wakeup.h"
#include "net/zap_handler.h"

namespace rvg {

struct PrimaryListenerConfig {
  std::string rvg_name;
  std::string listen;
  std::string host;  // this host's name, for the refusal
  // CURVE: this host's secret key and the keys of the RVG's other hosts.
  std::string secret_key;
  std::vector<std::string> peer_keys;
  bool insecure = false;
  // What the REJECT carries, read when one is sent (thread-safe).
  std::function<GenerationHistory()> history;
  std::function<uint64_t()> last_seq;
};

class PrimaryListener {
 public:
  // Binds (a clear error if the endpoint is taken) and starts the thread.
  static Result<std::unique_ptr<PrimaryListener>> Start(PrimaryListenerConfig config,
                                                         zmq::context_t* context);
  ~PrimaryListener();

  uint64_t refused_hellos() const { return refused_.load(); }

 private:
  PrimaryListener(PrimaryListenerConfig config, zmq::context_t* context);
  Status Bind();
  void Run();
  void Answer(std::vector<zmq::message_t>& frames);

  const PrimaryListenerConfig config_;
  zmq::context_t* const context_;
  const std::shared_ptr<Wakeup> wakeup_;
  std::unique_ptr<ZapHandler> zap_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> refused_{0};
  RateLimiter replies_{20, std::chrono::seconds(1)};
  RateLimiter log_{10, std::chrono::seconds(10)};
};

}  // namespace rvg
