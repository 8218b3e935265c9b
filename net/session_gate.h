// SessionGate: which peer a secondary's receiver takes writes from. The
// session logic of RlinkReceiver without ZeroMQ, so that takeover attempts,
// floods and session changes can be tested in memory.
//
// A session is opened by a HELLO that passed validation and belongs to one
// connection (ZeroMQ routing id) and one session id; only messages from
// that connection carrying that id belong to it. Fencing: a HELLO from
// another connection replaces the current session only when
//   - it comes from the same authenticated peer (the CURVE key proven in
//     the handshake: the primary reconnecting, e.g. after a restart), or
//   - the current session has been silent for longer than the dead timeout
//     (the primary the session belonged to is gone).
// On an insecure link nobody is authenticated, so only silence frees the
// session: a live primary, which pings every second, cannot be pushed out.
//
// HELLOs and replies to refused messages are rate-limited, so that a flood
// costs a bounded amount of work and of reply traffic. The limits are for
// everyone but the session's own peer, which a flood cannot silence. (On
// an insecure link a primary coming back on a new connection has no key
// to prove it is the session's peer, so a flood can delay its HELLO.)
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "net/rate_limiter.h"

namespace rvg {

// Where a message came from.
struct PeerId {
  std::string connection;  // ROUTER routing id: one connection
  std::string key;         // CURVE key proven in the handshake; "" on an insecure link
};

struct SessionGateOptions {
  // Silence after which the current session may be taken over; the
  // primary's own dead timeout (RlinkSenderConfig) is the same 5 s.
  std::chrono::milliseconds dead_timeout{5000};
  int hello_burst = 20;  // HELLOs looked at per window
  std::chrono::milliseconds hello_window{1000};
  int reply_burst = 20;  // refusals answered per window
  std::chrono::milliseconds reply_window{1000};
};

class SessionGate {
 public:
  using Clock = std::chrono::steady_clock;

  struct Session {
    PeerId peer;
    uint64_t id = 0;  // 0: no session
    std::string rlink_name;
  };

  explicit SessionGate(SessionGateOptions options = {});

  enum class Screen {
    kAdmit,  // validate the HELLO, then Open()
    kFlood,  // over the HELLO rate: drop it unanswered
    kBusy,   // another live peer holds the session: refuse
  };
  Screen ScreenHello(const PeerId& peer, Clock::time_point now);

  // Opens the session for a HELLO that ScreenHello admitted and that passed
  // validation. True when the session changed (another connection or
  // session id): what the old one left buffered must then be dropped.
  bool Open(const PeerId& peer, uint64_t session_id, const std::string& rlink_name,
            Clock::time_point now);

  // Whether a message from `peer` with `session_id` belongs to the current
  // session; if so, the session counts as heard from at `now`.
  bool Admit(const PeerId& peer, uint64_t session_id, Clock::time_point now);

  void Close() { session_ = Session{}; }
  const Session& session() const { return session_; }
  // When a message of a session was last admitted (epoch: never).
  Clock::time_point last_heard() const { return last_heard_; }

  // Whether a refusal to `peer` may be answered now (otherwise it is only
  // counted).
  bool AllowReply(const PeerId& peer, Clock::time_point now);

 private:
  // The connection of the session, or the key it proved.
  bool IsSessionPeer(const PeerId& peer) const;
  const SessionGateOptions options_;
  Session session_;
  Clock::time_point last_heard_{};
  RateLimiter hellos_;
  RateLimiter replies_;
};

}  // namespace rvg
