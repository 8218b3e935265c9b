#include "net/session_gate.h"

namespace rvg {

SessionGate::SessionGate(SessionGateOptions options)
    : options_(options),
      hellos_(options.hello_burst, options.hello_window),
      replies_(options.reply_burst, options.reply_window) {}

SessionGate::Screen SessionGate::ScreenHello(const PeerId& peer, Clock::time_point now) {
  if (!hellos_.Allow(now)) return Screen::kFlood;
  if (session_.id == 0 || peer.connection == session_.peer.connection) return Screen::kAdmit;
  // Another connection: the same proven key may take over at once (the
  // primary came back on a new connection); anyone else waits out silence.
  if (!peer.key.empty() && peer.key == session_.peer.key) return Screen::kAdmit;
  if (now - last_heard_ > options_.dead_timeout) return Screen::kAdmit;
  return Screen::kBusy;
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
