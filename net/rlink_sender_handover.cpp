// The primary's side of migrate (doc/failover.md): one HANDOVER in the
// current session, and its answer. Nothing here decides anything: the
// caller (rvgd's primary role) stopped the writes, drained this RLINK and
// decides what to become from the outcome.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/rlink_sender.h"
#include "net/zmq_util.h"

namespace rvg {

Result<HandedMsg> RlinkSender::HandOver(uint64_t seq, const std::string& mount,
                                        std::chrono::milliseconds timeout, bool* sent) {
  std::unique_lock<std::mutex> lock(handover_mu_);
  *sent = false;
  if (handover_phase_ != HandoverPhase::kIdle) {
    return Status::Error("a migrate to " + config_.rlink_name + " is under way already", EBUSY);
  }
  handover_phase_ = HandoverPhase::kWanted;
  handover_ = HandoverMsg{0, seq, "", mount};
  handed_.reset();
  handover_lost_.clear();
  wakeup_->Signal();
  const bool answered = handover_cv_.wait_for(
      lock, timeout, [this] { return handover_phase_ == HandoverPhase::kDone; });
  const HandoverPhase phase = handover_phase_;
  handover_phase_ = HandoverPhase::kIdle;
  *sent = phase != HandoverPhase::kWanted;
  const std::string secs = fmt::format("{:.1f}s", timeout.count() / 1000.0);
  if (!answered && phase == HandoverPhase::kWanted) {
    return Status::Error("no session with " + config_.rlink_name + " in " + secs +
                         " to hand over in", ETIMEDOUT);
  }
  if (!answered) {
    return Status::Error(config_.rlink_name + " did not answer the handover in " + secs,
                         ETIMEDOUT);
  }
  if (!handed_) {
    return Status::Error("the session with " + config_.rlink_name + " ended before it answered "
                         "the handover (" + handover_lost_ + ")", ECONNRESET);
  }
  return *handed_;
}

void RlinkSender::PumpHandover() {
  std::lock_guard<std::mutex> lock(handover_mu_);
  if (handover_phase_ != HandoverPhase::kWanted) return;
  // The caller drained this RLINK before asking: a session that does not
  // hold every seq yet (it opened since) must catch up first.
  if (progress_.data_acked_seq.load() < handover_.seq) return;
  handover_.session_id = session_id_;
  handover_.generation = session_generation_;
  if (!SendMessage(*socket_, {}, Encode(handover_), nullptr)) {
    Blocked();
    return;
  }
  last_sent_ = std::chrono::steady_clock::now();
  handover_phase_ = HandoverPhase::kSent;
  spdlog::info("rlink {}: HANDOVER sent: {} is to be primary from seq {} (generation after {})",
               config_.rlink_name, config_.rlink_name, handover_.seq + 1, handover_.generation);
}

void RlinkSender::OnHanded(const HandedMsg& m) {
  last_heard_ = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(handover_mu_);
  // An answer to no question of ours (a HANDOVER given up on, or none)
  // changes nothing.
  if (handover_phase_ != HandoverPhase::kSent || m.session_id != handover_.session_id) return;
  handed_ = m;
  handover_phase_ = HandoverPhase::kDone;
  handover_cv_.notify_all();
}

void RlinkSender::HandoverSessionLost(const std::string& why) {
  std::lock_guard<std::mutex> lock(handover_mu_);
  if (handover_phase_ != HandoverPhase::kSent) return;
  handover_lost_ = why;
  handover_phase_ = HandoverPhase::kDone;
  handover_cv_.notify_all();
}

}  // namespace rvg
