#include "net/session_gate.h"

namespace rvg {

SessionGate::SessionGate(SessionGateOptions options)
    : options_(options),
      hellos_(options.hello_burst, options.hello_window),
      replies_(options.reply_burst, options.reply_window) {}

bool SessionGate::IsSessionPeer(const PeerId& peer) const {
  return session_.id != 0 && (peer.connection == session_.peer.connection ||
                              (!peer.key.empty() && peer.key == session_.peer.key));
}

SessionGate::Screen SessionGate::ScreenHello(const PeerId& peer, Clock::time_point now) {
  // The session's own peer is never throttled by someone else's flood.
  const bool own = IsSessionPeer(peer);
  if (!own && !hellos_.Allow(now)) return Screen::kFlood;
  // The same connection, or the same proven key on a new one (the primary
  // came back), may reopen at once; anyone else waits out silence.
  if (session_.id == 0 || own) return Screen::kAdmit;
  if (now - last_heard_ > options_.dead_timeout) return Screen::kAdmit;
  return Screen::kBusy;
}

bool SessionGate::AllowReply(const PeerId& peer, Clock::time_point now) {
  return IsSessionPeer(peer) || replies_.Allow(now);
}

bool SessionGate::Open(const PeerId& peer, uint64_t session_id, const std::string& rlink_name,
                       Clock::time_point now) {
  bool changed = session_.id != session_id || session_.peer.connection != peer.connection;
  session_ = Session{peer, session_id, rlink_name};
  last_heard_ = now;
  return changed;
}

bool SessionGate::Admit(const PeerId& peer, uint64_t session_id, Clock::time_point now) {
  if (session_.id == 0 || session_id != session_.id ||
      peer.connection != session_.peer.connection || peer.key != session_.peer.key) {
    return false;
  }
  last_heard_ = now;
  return true;
}

}  // namespace rvg
