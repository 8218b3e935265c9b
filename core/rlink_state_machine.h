// RlinkStateMachine: the state of one RLINK and every rule that changes it
// (DESIGN.md, "RLINK state machine"; doc/rlink-states.md). The sender, the
// ack path, the checkpointer, the write path and the administrator tell it
// events and ask it questions; nothing else sets an RLINK's state.
//
// Not thread-safe and free of clocks and I/O: RlinkSet owns the machines,
// calls them under its lock and passes in the seqs they reason about, so
// every rule here is unit-tested in memory.
//
// The state is three facts: a condition (normal, stale or failed), whether
// the administrator paused the RLINK, and whether a session with the
// secondary is up. The state reported is the strongest of them:
//   stale > failed > paused > connected (session up) > disconnected.
//
// Transitions (rows: state now; "—": no change):
//
//   event            disconnected  connected     paused          failed        stale
//   SessionUp        connected     —             paused*         connected     stale (refused)
//   SessionDown      —             disconnected  paused*         —             —
//   Pause            paused        paused        — (error)       paused        — (error)
//   Resume           — (error)     — (error)     connected or    — (error)     — (error)
//                                                disconnected*
//   MarkFailed       failed        failed        failed          —             —
//   MarkStale        stale         stale         stale           stale         —
//   (* the session flag changes underneath; a paused RLINK keeps its
//    session alive with heartbeats but sends no writes.)
//
// Stale survives restarts (the SRL no longer holds what the secondary
// needs; only a full sync cures it); paused survives restarts; failed and
// connected come back as disconnected (the sender tries again).
//
// Synchronous mode. `synchronous=off` is asynchronous. `fail` is always
// synchronous: a write or flush that cannot get its ack in time fails.
// `override` is synchronous while it keeps up, and turns asynchronous
// (effective mode "async") when the session goes down, the RLINK is
// paused, failed or stale, or an ack misses ack_timeout. It turns
// synchronous again by itself once caught up: when its ack level reaches
// the newest seq written at the moment it went asynchronous or its session
// came up, whichever is later, with the session up and not paused.
//
// Latency protection (latencyprot, with the RLINK's backlog = writes
// sequenced but not yet data-acked by it). A new write is admitted only
// while it keeps the backlog below latency_high_mark:
//   connected: a write that would reach the high mark stalls, and
//     protection stays active (stalling every new write) until the
//     backlog is below latency_low_mark.
//   disconnected, paused or failed: override admits every write;
//     fail fails the write that would reach the high mark with EIO.
//   stale, or latencyprot=off: never stalls.
// synchronous=fail adds one rule: while the RLINK is not connected, a new
// write fails at once — except before its first session since rvgd
// started, when it waits up to ack_timeout for one.
#pragma once

#include <cstdint>
#include <string>

#include "core/rlink_policy.h"

namespace rvg {

// kFailed: replication stopped on an error that retrying cannot cure (the
// secondary's applier failed, or a record read back from the SRL is
// damaged); the reason is in the RLINK's last error and the log.
// kDcm and kResyncing belong to SRL overflow protection, which is not
// built yet; they are named here so that state.db and status keep one
// vocabulary.
enum class RlinkState { kDisconnected, kConnected, kPaused, kStale, kDcm, kResyncing, kFailed };

const char* RlinkStateName(RlinkState s);
// The state stored in state.db, as the machine takes it back at start
// ("" or anything unknown: disconnected).
RlinkState RlinkStateFromName(const std::string& name);

class RlinkStateMachine {
 public:
  // What to do with a new write, or with a wait for a synchronous ack.
  enum class Verdict { kGo, kWait, kFail };

  RlinkStateMachine(const RlinkPolicy& policy, RlinkState persisted);

  // ---- events --------------------------------------------------------
  // The secondary welcomed a session; `level` is its ack level at the
  // RLINK's sync_ack, `newest` the newest seq written. False (and no
  // change) when the RLINK is stale: only a full sync may reconnect it.
  bool SessionUp(uint64_t level, uint64_t newest);
  void SessionDown();
  // False when the transition is not allowed from the current state (the
  // table's "(error)" cells). Pause takes the newest seq written (override
  // catches up to it), Resume the ack level (caught up already: synchronous
  // at once).
  bool Pause(uint64_t newest);
  bool Resume(uint64_t level);
  void MarkFailed();
  void MarkStale();
  // An ack moved this RLINK's ack level (at its sync_ack) and its backlog.
  void Acked(uint64_t level, uint64_t backlog, uint64_t newest);
  // Live change of attributes; the effective mode and the protection are
  // re-derived at once.
  void SetPolicy(const RlinkPolicy& policy, uint64_t level, uint64_t backlog, uint64_t newest);

  // ---- questions -----------------------------------------------------
  // Latency protection and synchronous=fail on a new write, given the
  // backlog before it. May switch latency protection on or off (that is
  // the hysteresis). `grace_over`: the wait for a first session has lasted
  // ack_timeout.
  Verdict AdmitWrite(uint64_t backlog, bool grace_over);
  // Whether a flush (or strict write) must still wait for this RLINK to
  // ack `seq`, given its ack level and whether ack_timeout has passed
  // since the wait began. A timeout under override turns the RLINK
  // asynchronous (so every other waiter stops waiting for it too).
  Verdict AwaitAck(uint64_t seq, uint64_t level, bool timed_out, uint64_t newest);

  RlinkState state() const;
  const RlinkPolicy& policy() const { return policy_; }
  bool session_up() const { return session_up_; }
  // Session up and nothing holds the RLINK back: writes flow.
  bool active() const { return session_up_ && !paused_ && condition_ == Condition::kNormal; }
  bool may_send() const { return active(); }
  bool sync_effective() const;
  bool latency_protection_active() const { return latency_active_; }
  // The state to store in state.db (what survives a restart).
  RlinkState persistent_state() const;

 private:
  enum class Condition { kNormal, kFailed, kStale };

  void GoAsync(uint64_t newest);
  void MaybeCatchUp(uint64_t level);
  void ReleaseLatency(uint64_t backlog);

  RlinkPolicy policy_;
  Condition condition_ = Condition::kNormal;
  bool paused_ = false;
  bool session_up_ = false;
  bool ever_connected_ = false;
  bool sync_ = false;              // override: synchronous now
  uint64_t catch_up_target_ = 0;   // override: sync again at this ack level
  bool latency_active_ = false;
};

}  // namespace rvg
