#include "core/rlink_state_machine.h"

namespace rvg {

const char* RlinkStateName(RlinkState s) {
  switch (s) {
    case RlinkState::kDisconnected: return "disconnected";
    case RlinkState::kConnected: return "connected";
    case RlinkState::kPaused: return "paused";
    case RlinkState::kStale: return "stale";
    case RlinkState::kDcm: return "dcm";
    case RlinkState::kResyncing: return "resyncing";
    case RlinkState::kFailed: return "failed";
  }
  return "disconnected";
}

RlinkState RlinkStateFromName(const std::string& name) {
  for (RlinkState s : {RlinkState::kConnected, RlinkState::kPaused, RlinkState::kStale,
                       RlinkState::kDcm, RlinkState::kResyncing, RlinkState::kFailed}) {
    if (name == RlinkStateName(s)) return s;
  }
  return RlinkState::kDisconnected;
}

RlinkStateMachine::RlinkStateMachine(const RlinkPolicy& policy, RlinkState persisted)
    : policy_(policy) {
  if (persisted == RlinkState::kStale) condition_ = Condition::kStale;
  if (persisted == RlinkState::kDcm || persisted == RlinkState::kResyncing) {
    condition_ = Condition::kDcm;
  }
  if (persisted == RlinkState::kPaused) paused_ = true;
}

RlinkState RlinkStateMachine::state() const {
  if (condition_ == Condition::kStale) return RlinkState::kStale;
  if (condition_ == Condition::kFailed) return RlinkState::kFailed;
  if (paused_) return RlinkState::kPaused;
  if (resyncing_) return RlinkState::kResyncing;
  if (condition_ == Condition::kDcm) return RlinkState::kDcm;
  return session_up_ ? RlinkState::kConnected : RlinkState::kDisconnected;
}

std::optional<uint64_t> RlinkStateMachine::needed_seq(uint64_t data_acked) const {
  if (condition_ == Condition::kStale) return std::nullopt;
  if (condition_ == Condition::kDcm) {
    if (!resyncing_) return std::nullopt;
    return resync_seq_ + 1;
  }
  return data_acked + 1;
}

RlinkState RlinkStateMachine::persistent_state() const {
  if (condition_ == Condition::kStale) return RlinkState::kStale;
  if (condition_ == Condition::kDcm) return RlinkState::kDcm;
  if (paused_) return RlinkState::kPaused;
  return RlinkState::kDisconnected;
}

bool RlinkStateMachine::sync_effective() const {
  switch (policy_.synchronous) {
    case Protection::kOff: return false;
    case Protection::kFail: return true;
    case Protection::kOverride: return sync_;
  }
  return false;
}

bool RlinkStateMachine::SessionUp(uint64_t level, uint64_t newest) {
  if (condition_ == Condition::kStale) return false;
  if (condition_ == Condition::kFailed) condition_ = Condition::kNormal;
  session_up_ = true;
  ever_connected_ = true;
  // Whatever was written while it was away must be caught up before it is
  // synchronous again.
  sync_ = false;
  catch_up_target_ = newest;
  MaybeCatchUp(level);
  return true;
}

// A resync stays a resync (holding the SRL from its seq on) until the
// engine turns it back into tracking (EnterDcm) under its own lock: only
// there can tracking resume without losing a write in between.
void RlinkStateMachine::SessionDown() {
  session_up_ = false;
  sync_ = false;
}

bool RlinkStateMachine::Pause(uint64_t newest) {
  // Judged on the state shown, not the flag: a pause under a failure or
  // under stale is not what the administrator sees.
  const RlinkState now = state();
  if (now == RlinkState::kPaused || now == RlinkState::kStale) return false;
  // failed -> paused (the table): the pause replaces the failure, and a
  // resume retries.
  if (condition_ == Condition::kFailed) condition_ = Condition::kNormal;
  paused_ = true;
  // What is written while paused must be caught up before override is
  // synchronous again.
  GoAsync(newest);
  return true;
}

bool RlinkStateMachine::Resume(uint64_t level) {
  // Only a paused RLINK resumes: a failed or stale one with an old pause
  // underneath is an error (the table), and keeps its pause.
  if (state() != RlinkState::kPaused) return false;
  paused_ = false;
  // Already caught up: synchronous now, not after some later ack.
  MaybeCatchUp(level);
  return true;
}

void RlinkStateMachine::MarkFailed() {
  // Stale is the stronger verdict; a dcm RLINK must keep tracking (the
  // SRL no longer holds what it is owed).
  if (condition_ == Condition::kStale || condition_ == Condition::kDcm) {
    session_up_ = false;
    return;
  }
  condition_ = Condition::kFailed;
  session_up_ = false;
  sync_ = false;
}

void RlinkStateMachine::MarkStale() {
  condition_ = Condition::kStale;
  session_up_ = false;
  sync_ = false;
  latency_active_ = false;
  resyncing_ = false;
}

bool RlinkStateMachine::EnterDcm() {
  if (condition_ == Condition::kStale) return false;
  condition_ = Condition::kDcm;
  resyncing_ = false;
  sync_ = false;
  latency_active_ = false;
  return true;
}

bool RlinkStateMachine::StartFullSync() {
  // A paused RLINK stays paused: a full sync would start behind the
  // administrator's back at resumerep. A stale one paused before it went
  // stale is started: `startrep` is the administrator's word to replicate.
  if (paused_ && condition_ != Condition::kStale) return false;
  if (condition_ == Condition::kStale) paused_ = false;
  condition_ = Condition::kDcm;
  // A resync under way is cut short: its sender sees no resync seq any
  // more and starts over from the (now full) bitmap.
  resyncing_ = false;
  sync_ = false;
  latency_active_ = false;
  return true;
}

bool RlinkStateMachine::BeginResync(uint64_t seq) {
  if (condition_ != Condition::kDcm || resyncing_ || !session_up_ || paused_) return false;
  resyncing_ = true;
  resync_seq_ = seq;
  return true;
}

bool RlinkStateMachine::ResyncDone(uint64_t newest) {
  if (!resyncing_) return false;
  resyncing_ = false;
  condition_ = Condition::kNormal;
  // Synchronous again only once caught up with what was written meanwhile.
  sync_ = false;
  catch_up_target_ = newest;
  return true;
}

void RlinkStateMachine::GoAsync(uint64_t newest) {
  sync_ = false;
  catch_up_target_ = newest;
}

void RlinkStateMachine::MaybeCatchUp(uint64_t level) {
  if (policy_.synchronous == Protection::kOverride && !sync_ && active() &&
      level >= catch_up_target_) {
    sync_ = true;
  }
}

void RlinkStateMachine::ReleaseLatency(uint64_t backlog) {
  if (latency_active_ && backlog < policy_.latency_low_mark) latency_active_ = false;
}

void RlinkStateMachine::Acked(uint64_t level, uint64_t backlog, uint64_t /*newest*/) {
  MaybeCatchUp(level);
  ReleaseLatency(backlog);
}

void RlinkStateMachine::SetPolicy(const RlinkPolicy& policy, uint64_t level, uint64_t backlog,
                                  uint64_t newest) {
  const bool was_override = policy_.synchronous == Protection::kOverride;
  policy_ = policy;
  // Becoming override: synchronous from the next caught-up ack, never for
  // writes that are already behind.
  if (policy_.synchronous == Protection::kOverride && !was_override) GoAsync(newest);
  MaybeCatchUp(level);
  if (policy_.latencyprot == Protection::kOff) latency_active_ = false;
  ReleaseLatency(backlog);
}

RlinkStateMachine::Verdict RlinkStateMachine::AdmitWrite(uint64_t backlog, bool grace_over) {
  if (policy_.synchronous == Protection::kFail && !active()) {
    // A synchronous RLINK that cannot take the write: the primary must
    // not run ahead of it. Right after start, give the first session time.
    // Stale is no exception: AwaitAck fails every flush a stale RLINK did
    // not ack, so admitting the write would only turn a clean refusal into
    // a write that is done and then reported failed.
    if (ever_connected_ || grace_over || paused_ || condition_ != Condition::kNormal) {
      return Verdict::kFail;
    }
    return Verdict::kWait;
  }
  if (policy_.latencyprot == Protection::kOff || condition_ == Condition::kStale ||
      condition_ == Condition::kDcm) {
    latency_active_ = false;
    return Verdict::kGo;
  }
  const bool reaches_high = backlog + 1 >= policy_.latency_high_mark;
  if (!active()) {
    if (policy_.latencyprot == Protection::kOverride) {
      latency_active_ = false;
      return Verdict::kGo;
    }
    latency_active_ = reaches_high;
    return reaches_high ? Verdict::kFail : Verdict::kGo;
  }
  ReleaseLatency(backlog);
  if (!latency_active_ && reaches_high) latency_active_ = true;
  return latency_active_ ? Verdict::kWait : Verdict::kGo;
}

RlinkStateMachine::Verdict RlinkStateMachine::AwaitAck(uint64_t seq, uint64_t level,
                                                       bool timed_out, uint64_t newest) {
  if (policy_.synchronous == Protection::kOff || level >= seq) return Verdict::kGo;
  if (policy_.synchronous == Protection::kOverride) {
    if (!sync_) return Verdict::kGo;
    if (!active() || timed_out) {
      GoAsync(newest);
      return Verdict::kGo;
    }
    return Verdict::kWait;
  }
  // fail: the ack comes in time, or the flush fails.
  if (timed_out) return Verdict::kFail;
  if (!active() && (ever_connected_ || paused_ || condition_ != Condition::kNormal)) {
    return Verdict::kFail;
  }
  return Verdict::kWait;
}

}  // namespace rvg
