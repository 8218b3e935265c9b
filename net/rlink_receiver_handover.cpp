// The secondary's side of migrate (doc/failover.md): a HANDOVER from the
// primary of the current session is accepted only when this host is an
// exact, consistent copy of that primary's line up to the HANDOVER's seq;
// the daemon then becomes primary of a new generation from seq + 1.
#include <spdlog/spdlog.h>

#include "net/rlink_receiver.h"

namespace rvg {

Status RlinkReceiver::CheckHandover(const HandoverMsg& m) {
  if (session_history_.empty() || m.generation != session_history_.back().uuid) {
    return Status::Error("the handover names generation " + m.generation +
                         ", not the session's current one");
  }
  if (failback_fork_ != 0 || resync_open_ || !applier_->consistent()) {
    return Status::Error("this host is in the middle of a resync: its images are no consistent "
                         "copy to take over with; let the resync end and migrate again");
  }
  const uint64_t held = applier_->received_seq();
  if (held != m.seq) {
    return Status::Error("this host holds writes up to seq " + std::to_string(held) +
                         ", the primary up to " + std::to_string(m.seq) + "; drain and migrate "
                         "again");
  }
  Status health = applier_->health();
  if (!health.ok()) return health.Annotate("this host cannot apply writes");
  return Status::Ok();
}

void RlinkReceiver::OnHandover(const PeerId& peer, const HandoverMsg& m) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!gate_.Admit(peer, m.session_id, std::chrono::steady_clock::now())) {
      Drop(RejectReason::kSession, "HANDOVER outside the current session");
      return;
    }
  }
  HandedMsg answer;
  answer.session_id = m.session_id;
  Status st = CheckHandover(m);
  Result<std::string> generation = Status::Error("not asked");
  if (st.ok()) {
    generation = hooks_.handover ? hooks_.handover(m, peer.key, session_host_)
                                 : Result<std::string>(Status::Error("this host cannot migrate"));
    st = generation.status();
  }
  if (!st.ok()) {
    spdlog::warn("migrate refused: {}", st.message());
    answer.reason = st.message();
    Reply(peer.connection, Encode(answer));
    return;
  }
  handed_over_ = true;
  answer.accepted = true;
  answer.generation = *generation;
  answer.start_seq = m.seq + 1;
  spdlog::info("migrate: the primary handed over at seq {}; this host becomes primary of "
               "generation {} from seq {}", m.seq, answer.generation, answer.start_seq);
  Reply(peer.connection, Encode(answer));
}

}  // namespace rvg
