// RlinkStateMachine: the state of one RLINK and every rule that changes it
// (DESIGN.md, "RLINK state machine"; doc/rlink-states.md). The sender, the
// ack path, the checkpointer, the write path and the administrator tell it
// events and ask it questions; nothing else sets an RLINK's state.
//
// Not thread-safe and free of clocks and I/O: RlinkSet owns the machines,
// calls them under its lock and passes in the seqs they reason about, so
// every rule here is unit-tested in memory.
//
// The state is three facts: a condition (normal, failed, dcm or stale),
// whether the administrator paused the RLINK, and whether a session with
// the secondary is up. The state reported is the strongest of them:
//   stale > failed > paused > resyncing > dcm > connected > disconnected.
//
// DCM (srlprot, doc/rlink-states.md): an RLINK whose backlog no longer
// fits the SRL is owed regions instead of records. In `dcm` it is
// *tracking*: every write marks its regions in the RLINK's bitmap, and it
// does not hold the SRL. Once its session is up (and it is not paused) the
// sender begins a bitmap resync at the newest seq R: state `resyncing`,
// tracking stops, and the RLINK holds the SRL from R + 1, whose records
// follow the regions. The resync's end brings it back to normal
// (connected); a session lost during it returns it to dcm (tracking again,
// by EnterDcm: the engine marks R + 1 onwards, which the SRL still holds).
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
//   EnterDcm         dcm           dcm           paused*         dcm           — (error)
//   StartFullSync    dcm           dcm           — (error)       dcm           dcm
//   (* the session flag changes underneath; a paused RLINK keeps its
//    session alive with heartbeats but sends no writes.)
//
//   event            dcm                       resyncing
//   SessionUp        dcm (session up)          —
//   SessionDown      —                         resyncing, session down (the
//                                              engine then calls EnterDcm)
//   BeginResync      resyncing (session up,    — (error)
//                    not paused; else error)
//   ResyncDone       — (error)                 connected
//   MarkFailed       —  (keeps tracking)       — (session down)
//   EnterDcm         —                         dcm (tracking again)
//   MarkStale        stale                     stale
//   StartFullSync    dcm (the bitmap is all    dcm (the resync is cut short;
//                    dirty now)                the sender starts over)
//   Pause/Resume     as in the first table; a paused dcm RLINK keeps tracking
//
// Stale survives restarts (the SRL no longer holds what the secondary
// needs; only a full sync cures it); so do dcm (resyncing is stored as dcm:
// the resync starts over) and paused (a paused dcm RLINK comes back dcm,
// not paused); failed and connected come back as disconnected.
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
//   stale, dcm, resyncing, or latencyprot=off: never stalls (the backlog
//   is counted in regions then, not in writes).
// synchronous=fail adds one rule: while the RLINK is not connected, a new
// write fails at once — except before its first session since rvgd
// started, when it waits up to ack_timeout for one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/rlink_policy.h"

namespace rvg {

// kFailed: replication stopped on an error that retrying cannot cure (the
// secondary's applier failed, or a record read back from the SRL is
// damaged); the reason is in the RLINK's last error and the log.
// kDcm and kResyncing: SRL overflow protection (see below).
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
  // SRL overflow protection moves the RLINK to DCM tracking. False from
  // stale (it needs a full sync, not a bitmap).
  bool EnterDcm();
  // A full sync: the RLINK's bitmap was made all dirty, and it tracks
  // from now on (dcm); the sender then resyncs the whole bitmap. From any
  // state but paused: `startrep --full` takes a stale RLINK back (a pause
  // from before it went stale is dropped), `resync --full` any other
  // (PrimaryRvg says which command may start from where). False (no
  // change) when paused.
  bool StartFullSync();
  // The sender begins a bitmap resync at seq `seq` (false unless dcm,
  // session up and not paused), or finished it.
  bool BeginResync(uint64_t seq);
  bool ResyncDone(uint64_t newest);
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
  // Writes must mark their regions in this RLINK's bitmap.
  bool tracking() const { return condition_ == Condition::kDcm && !resyncing_; }
  bool resyncing() const { return resyncing_; }
  // The oldest seq this RLINK still needs from the SRL, given its data
  // ack; nullopt when it needs none (stale, or tracking in its bitmap).
  std::optional<uint64_t> needed_seq(uint64_t data_acked) const;
  bool sync_effective() const;
  bool latency_protection_active() const { return latency_active_; }
  // The state to store in state.db (what survives a restart).
  RlinkState persistent_state() const;

 private:
  enum class Condition { kNormal, kFailed, kDcm, kStale };

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
  bool resyncing_ = false;         // dcm: regions are being sent
  uint64_t resync_seq_ = 0;        // ... up to this seq
};

}  // namespace rvg
