// RlinkSet: the RLINKs of a primary RVG — one RlinkStateMachine and one
// RlinkProgress each — and the waits that tie them to the write path.
//
// It is the single owner of RLINK state: the sender reports sessions, acks
// and failures here; the engine asks here whether a new write may have a
// seq (latency protection, synchronous=fail) and waits here for
// synchronous acks; the administrator pauses, resumes and changes
// attributes here; the checkpointer and status read snapshots from here.
//
// Where the waits happen, and why:
//   - AdmitWrite() runs before a write joins the engine's writer queue, so
//     a write held back by a protection never holds the leader queue, the
//     SRL or the engine lock: writes already admitted keep flowing, and
//     acks keep arriving. Several writers admitted at the same moment may
//     take the backlog past the high mark by at most their number.
//   - WaitForSyncAcks(seq) runs after the write (or, for a flush, every
//     earlier write) is synced in the SRL — the engine's own durability
//     point — and waits for each synchronous RLINK's ack at its sync_ack
//     level, up to its ack_timeout.
//
// Lock order: the engine's lock may be held while calling Sequenced();
// RlinkSet never calls out while holding its own lock.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/rlink_policy.h"
#include "core/rlink_progress.h"
#include "core/rlink_state_machine.h"
#include "core/status.h"

namespace rvg {

// One RLINK as rvgd loads it from state.db.
struct RlinkInit {
  std::string name;
  RlinkPolicy policy;
  RlinkState persisted = RlinkState::kDisconnected;
  uint64_t sent_seq = 0;
  uint64_t net_acked_seq = 0;
  uint64_t data_acked_seq = 0;
};

// A consistent copy of one RLINK, for a checkpoint or status.
struct RlinkSnapshot {
  std::string name;
  RlinkState state = RlinkState::kDisconnected;       // as it is now
  RlinkState persistent = RlinkState::kDisconnected;  // what state.db keeps
  RlinkPolicy policy;
  bool sync_effective = false;
  bool latency_protection = false;
  uint64_t sent_seq = 0;
  uint64_t net_acked_seq = 0;
  uint64_t data_acked_seq = 0;
  std::optional<uint64_t> needed_seq;  // oldest seq it needs from the SRL
};

class RlinkSet {
 public:
  explicit RlinkSet(const std::vector<RlinkInit>& rlinks);

  size_t size() const { return entries_.size(); }
  std::optional<size_t> Find(const std::string& name) const;
  const std::string& name(size_t i) const { return entries_[i].progress->name; }
  // Seqs of RLINK i. Its sender moves sent_seq; acks go through Acked().
  RlinkProgress& progress(size_t i) const { return *entries_[i].progress; }

  // ---- write path (PrimaryRvg) ---------------------------------------
  // Blocks while a protection holds new writes back; fails (EIO, with the
  // RLINK and the rule in the message) when one refuses the write, and
  // when Close() or AbortWaits() ends the wait.
  Status AdmitWrite();
  // The newest seq written: the engine calls it as seqs are handed out.
  void Sequenced(uint64_t newest);
  // Blocks until every synchronous RLINK acked `seq` at its sync_ack
  // level; an RLINK under synchronous=override that misses ack_timeout
  // or goes down turns asynchronous instead; one under fail makes this
  // return EIO.
  Status WaitForSyncAcks(uint64_t seq);
  // Fails the writes held back in AdmitWrite() now (never acknowledged,
  // so nothing is lost); later writes may be held back again.
  void AbortWaits();
  // Ends every wait for good: AdmitWrite and WaitForSyncAcks return EIO.
  void Close();
  // Writes are held back in AdmitWrite() right now.
  bool admission_stalled() const;
  // The highest seq any RLINK was sent or acked (a floor for recovery).
  uint64_t HighestKnownSeq() const;

  // ---- sender --------------------------------------------------------
  // The secondary welcomed a session resuming after `applied_seq` (which
  // is a network ack that far). False when the RLINK is stale and must not
  // reconnect.
  bool SessionUp(size_t i, uint64_t applied_seq);
  void SessionDown(size_t i);
  void Acked(size_t i, uint64_t net_acked_seq, uint64_t data_acked_seq);
  void MarkFailed(size_t i);
  // `why` goes to the log with the transition.
  void MarkStale(size_t i, const char* why);
  bool MaySend(size_t i) const;
  RlinkState state(size_t i) const;
  // Whether writers wait for RLINK i's data ack now (synchronous in effect,
  // sync_ack=durable). Its records are then sent flagged so the secondary
  // syncs them at once; others it may sync a few ms later, in groups.
  bool DataAckAwaited(size_t i) const;

  // ---- DCM and bitmap resync (the engine, which owns the ordering with
  // ---- seqs, calls the transitions; see PrimaryRvg) -------------------
  // Whether writes must mark their regions for RLINK i / for any RLINK.
  bool Tracking(size_t i) const;
  bool AnyTracking() const { return tracking_count_.load() > 0; }
  // The oldest seq RLINK i still needs from the SRL (its data ack + 1, or
  // during a resync its resync seq + 1), nullopt when none.
  std::optional<uint64_t> NeededSeq(size_t i) const;
  bool EnterDcm(size_t i, const char* why);
  bool StartFullSync(size_t i);
  bool BeginResync(size_t i, uint64_t seq);
  // The secondary applied the resync's end at `seq`: that is its data ack.
  bool ResyncDone(size_t i, uint64_t seq);
  // The resync seq of RLINK i while it resyncs.
  std::optional<uint64_t> ResyncSeq(size_t i) const;
  bool SessionIsUp(size_t i) const;

  // ---- administrator -------------------------------------------------
  Status Pause(size_t i);
  Status Resume(size_t i);
  void SetPolicy(size_t i, const RlinkPolicy& policy);

  // ---- checkpointer, status ------------------------------------------
  std::vector<RlinkSnapshot> Snapshot() const;

  // The attributes of RLINK i as they are now (rvgadm set changes them live).
  RlinkPolicy policy(size_t i) const;

 private:
  struct Entry {
    std::shared_ptr<RlinkProgress> progress;
    RlinkStateMachine machine;
  };
  uint64_t LevelLocked(const Entry& e) const;
  uint64_t LevelLocked(const Entry& e, SyncAck sync_ack) const;
  uint64_t BacklogLocked(const Entry& e) const;
  RlinkSnapshot SnapshotLocked(const Entry& e) const;
  // Runs `change` and logs what it changed; true (and waiters woken) if anything did.
  bool ChangeLocked(Entry& e, const char* event,
                    const std::function<void(RlinkStateMachine&)>& change);

  mutable std::mutex mu_;
  std::condition_variable cv_;  // any state, ack or policy change
  std::vector<Entry> entries_;
  uint64_t newest_ = 0;
  bool closed_ = false;
  uint64_t abort_epoch_ = 0;
  int stalled_ = 0;             // writers waiting in AdmitWrite
  std::atomic<int> tracking_count_{0};  // RLINKs whose machine is tracking()
};

}  // namespace rvg
