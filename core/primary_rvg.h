// PrimaryRvg: the primary's write pipeline for one RVG — the engine behind
// the FUSE mount.
//
// Write path (DESIGN.md "Write path on the primary"):
//   1. A write joins the writer queue. The writer at the head of the queue
//      becomes the leader: it takes a batch from the front of the queue,
//      gives its writes the next seqs in queue order, and appends the batch
//      to the SRL: one pwritev, or two when the log wraps. Seqs are handed
//      out only here, so a write failed while queued leaves no gap.
//   2. Before it forms a batch, the leader waits while the records not yet
//      on the images exceed a memory budget (a stalled image slows writers
//      down rather than growing rvgd). The records join the in-memory UnappliedWrites,
//      so reads see them at once. When the SRL cannot take the whole batch,
//      the leader publishes what it did append (so the flusher and the
//      checkpointer can make room) and waits for space; that wait ends on
//      space, on a failure, or on Close()/BeginClose().
//   3. A background flusher fdatasyncs the SRL whenever something was
//      appended since the last sync and publishes synced_seq(); then it
//      applies the newly synced records to the images with pwrite, in seq
//      order, and only then drops them from UnappliedWrites. Only synced
//      records are handed to RLINK senders, so no secondary can hold a
//      write the primary could lose in a crash.
//   0. Before it joins the queue, a write asks the RlinkSet whether it may
//      have a seq at all (latency protection, synchronous=fail); a write
//      held back there holds up nothing else (see rlink_set.h).
//   4. A write is answered when appended (durability "flush"), or when
//      synced and acknowledged by every synchronous RLINK (durability
//      "strict", or a handle opened O_SYNC/O_DSYNC). Flush() waits until
//      everything answered before it is synced and acknowledged so.
//   5. A checkpointer periodically (and whenever the SRL is full) fdatasyncs
//      the images, persists the RLINKs' progress through the
//      CheckpointListener, and then moves the SRL tail up to the oldest
//      record that the images (by what was applied before that sync) or some
//      RLINK (by its persisted data ack) still need, recording synced_seq()
//      in the SRL checkpoint as the floor of recovery.
//
// CRASH INVARIANTS (kept after a power cut, not only after SIGKILL):
//   - An image never holds a write that the SRL could lose: a record is
//     pwritten to an image only after the SRL fdatasync that covers it
//     returned OK. So after any crash, the local images equal the replay of
//     the recovered SRL onto the images as they were at the last checkpoint.
//   - Everything before the SRL tail is durable on the images: the tail
//     moves only after an image fdatasync that followed the records' apply.
//   - Recovery (in Open()) replays every valid record from the tail on,
//     in order, and syncs the images before the first new write. A log that
//     ends below a seq known to have been durable — the checkpoint's
//     synced_seq, or a seq some RLINK was sent — is damage: Open() fails
//     naming the record, and no seq is ever reused that a secondary may hold.
//
// Failure: an I/O error on the SRL or an image (write or fdatasync) makes
// the engine fail every later write with that error, code included (ENOSPC
// stays ENOSPC), because after a failed fdatasync the kernel may have
// dropped the data it could not write: retrying would report success for
// lost data. The tail never moves again; Close() still returns. A restart
// replays the SRL.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/dcm_tracker.h"
#include "core/generation_rotator.h"
#include "core/inflight_buffer.h"
#include "core/record.h"
#include "core/rlink_set.h"
#include "core/srl.h"
#include "core/status.h"
#include "core/unapplied_writes.h"
#include "core/volume_io.h"
#include "core/volume_set.h"

namespace rvg {

struct PrimaryOptions {
  bool strict = false;                             // RVG attribute durability=strict
  uint64_t inflight_budget_bytes = 64ull << 20;    // memory for RLINKs that keep up
  uint64_t max_batch_bytes = 8ull << 20;           // one group commit at most
  size_t max_batch_records = 512;
  // Records appended to the SRL but not yet on the images are held in
  // memory (reads see them); a leader waits while they exceed this.
  uint64_t unapplied_budget_bytes = 32ull << 20;
  std::chrono::milliseconds checkpoint_interval{500};
  // Called with each write as it gets its seq, under the engine's lock
  // (keep it quick). Tests record the write history with it.
  std::function<void(const WriteRecord&)> on_sequenced;
  // Called, under the engine's lock, when writes that got seqs from `first`
  // on were abandoned before reaching the SRL (a stop while they waited for
  // space); the next writes get those seqs again.
  std::function<void(uint64_t first)> on_released;
  // Called, without the lock, each time an append finds the SRL full, just
  // before the writer waits for space. Tests use it to let a checkpoint
  // free the space at the worst moment.
  std::function<void()> on_srl_full;
  // The RLINKs' DCM bitmaps (borrowed; loaded). Without it srlprot
  // autodcm and dcm cannot switch to DCM and writes wait for SRL space.
  DcmTracker* dcm = nullptr;
  // Asked once per batch whether a new generation begins (borrowed; may be
  // null: never).
  GenerationRotator* rotator = nullptr;
};

// Persists RLINK progress; called by the checkpointer before the SRL tail may
// move past anything the snapshot says is still needed — but only when
// something it persists (name, persistent state, sent, net-acked and
// data-acked seqs) differs from what its last successful call got, so an
// idle RVG commits nothing.
class CheckpointListener {
 public:
  virtual ~CheckpointListener() = default;
  virtual Status PersistRlinkProgress(const std::vector<RlinkSnapshot>& rlinks) = 0;
};

class PrimaryRvg : public VolumeIo {
 public:
  // Replays `srl` (on which Recover() has not been called) into `volumes`,
  // then starts the flusher and checkpointer. `rlinks` are this RVG's RLINKs
  // with their persisted progress loaded; the engine tells them the newest
  // seq and asks them about admission and synchronous acks (nullptr: none).
  static Result<std::unique_ptr<PrimaryRvg>> Open(
      std::unique_ptr<VolumeSet> volumes, std::unique_ptr<Srl> srl,
      std::shared_ptr<RlinkSet> rlinks, CheckpointListener* listener, PrimaryOptions options);

  ~PrimaryRvg() override;

  // VolumeIo.
  const std::vector<VolumeSpec>& Volumes() const override { return volumes_->specs(); }
  Status Read(uint32_t volume, uint64_t offset, void* buf, size_t length) override;
  int DirectReadFd(uint32_t volume, uint64_t offset, size_t length) override;
  Status Write(uint32_t volume, uint64_t offset, const void* data, size_t length,
               bool strict) override;
  Status Flush() override;

  // Failover (primary_rvg_failover.cpp, doc/failover.md). Fence(cause):
  // every write from now on fails with `why` (give it code EROFS) until
  // every cause has been lifted by Unfence(cause) — a host that learned it
  // was replaced stays fenced when its data_corrupt hold ends. Writes
  // already admitted go on; reads and Flush() are not fenced.
  // kResolving: resolve --discard-local is stepping this host down.
  enum class FenceCause { kReplaced = 0, kDataCorrupt = 1, kResolving = 2 };
  void Fence(FenceCause cause, const Status& why);
  void Unfence(FenceCause cause);
  bool fenced() const { return fenced_.load(); }
  bool fenced_for(FenceCause cause) const;
  // The extents of every record from `from_seq` to the newest, read back
  // from memory or the SRL: what this host wrote that a newer line
  // replaced. Fails with ENOENT when the SRL no longer holds `from_seq`.
  Result<std::vector<VolumeExtent>> ExtentsSince(uint64_t from_seq) const;

  // Stops accepting writes and ends every wait for SRL space (those writes
  // fail with EIO). Returns at once; for a stop that must not hang on a
  // full SRL. Close() does it too.
  void BeginClose();

  // Fails, with EIO, the writes waiting for space in a full SRL right now —
  // the part of the leader's batch that is not in the SRL and every write
  // queued behind it — or, while a leader waits for the images to catch up
  // with the memory budget, every queued write (never acknowledged, so
  // nothing is lost); later writes may wait again. Does nothing while
  // waiting_for_room() is false.
  // rvgadm stop uses it so that writers blocked in the kernel can let go of
  // the mount.
  void AbortSpaceWaits();

  // Stops accepting writes, waits for the queued ones, syncs, applies, takes
  // a final checkpoint (unless the engine has failed) and stops the
  // background threads. Returns the sticky failure, if any. Idempotent.
  Status Close();

  // For RLINK senders. Records up to synced_seq() may be sent.
  uint64_t synced_seq() const { return synced_seq_.load(); }
  uint64_t last_seq() const;      // newest record appended to the SRL
  uint64_t srl_tail_seq() const;  // oldest record the SRL still holds
  // Where GetRecord() found a record: the in-memory buffer, or read back
  // from the SRL because the RLINK fell behind the memory budget.
  enum class RecordSource { kMemory, kSrl };
  // From memory when recent, else read back from the SRL; `source`, when
  // given, says which (status shows it per RLINK as sending_from).
  Result<WriteRecord> GetRecord(uint64_t seq, RecordSource* source = nullptr) const;
  // `listener` runs on the flusher thread after each sync; it must be quick
  // and must not call back into the engine's writers (e.g. signal an fd).
  void AddSyncListener(std::function<void()> listener);

  // ---- DCM and bitmap resync (primary_rvg_dcm.cpp) -------------------
  // The RLINK's sender begins a bitmap resync: returns the seq R the
  // regions bring the secondary to (the newest written), once every write
  // up to R has its regions marked; EAGAIN while the records the RLINK
  // left in the SRL are still being marked.
  Result<uint64_t> BeginResync(size_t rlink);
  // The resync's session was lost: the RLINK tracks again, and the records
  // after its resync seq are marked from the SRL.
  void InterruptResync(size_t rlink);
  // `startrep --full` on a stale RLINK: every region dirty, then tracking.
  Status StartFullSync(size_t rlink);
  // `resync --full` on an RLINK that is neither stale nor paused: the
  // same, cutting short a resync under way.
  Status ResyncFull(size_t rlink);
  // `resync`: the RLINK resyncs what its bitmap holds. True when a resync
  // is owed (it was in dcm already, or enters it now); false when the
  // bitmap is clean: nothing to do. Refuses stale and paused RLINKs.
  Result<bool> ResyncDirty(size_t rlink);
  // Reads a region for a resync: only data whose records are durable in
  // the SRL (no secondary may hold a write the primary could lose).
  Status ReadForResync(uint32_t volume, uint64_t offset, void* buf, size_t length);
  // True when the range reads as zeros without reading it: no write not
  // yet on the image overlaps it, and the image has a hole there. (Any
  // write to it makes it data, so there is nothing to wait for.)
  bool RangeIsHole(uint32_t volume, uint64_t offset, uint64_t length) const;

  // ---- online verify (primary_rvg_verify.cpp) ---------------------------
  // Reads a range for verify and starts watching it: returns the seq W such
  // that the bytes read hold every write up to W, and `*watch` names a
  // watch that any write sequenced after W overlapping the range trips. A
  // secondary whose images are at a seq >= W must then hold the same bytes
  // unless the watch tripped. The caller ends every watch it starts.
  Result<uint64_t> ReadForVerify(uint32_t volume, uint64_t offset, void* buf, size_t length,
                                 uint64_t* watch);
  // Ends a watch; true if a write overlapped its range since it began.
  bool EndWatch(uint64_t watch);

  // For status.
  uint64_t srl_used_bytes() const { return srl_->used_bytes(); }
  uint64_t srl_capacity_bytes() const { return srl_->capacity_bytes(); }
  const std::string& srl_path() const { return srl_->path(); }
  // Data bytes written after `seq` (bytes an RLINK acked up to `seq` is behind).
  uint64_t BytesAfter(uint64_t seq) const;
  // What an RLINK that data-acked up to `seq` still lacks, at `now`.
  struct Backlog {
    uint64_t writes = 0;      // written after seq
    uint64_t data_bytes = 0;  // their data (= BytesAfter(seq))
    // The SRL space those records take (Srl::RecordBytes each: header and
    // padding included; the filler where the log wraps is not counted).
    uint64_t srl_bytes = 0;
    // Age of the oldest of them, 0 when none. A record replayed at start
    // (the SRL keeps no write times) counts from when recovery ran.
    double seconds = 0;
  };
  Backlog BacklogAfter(uint64_t seq, std::chrono::steady_clock::time_point now) const;
  // The sticky failure, OK while healthy.
  Status health() const;
  // Writes are waiting because the SRL is full (until the secondaries
  // catch up and a checkpoint frees space).
  bool srl_full() const;
  // A leader waits for SRL space or for the images to catch up with the
  // memory budget, or writes are held back by an RLINK's protection: the
  // waits AbortSpaceWaits() ends.
  bool waiting_for_room() const;
  // Bytes appended to the SRL and not yet written to the images.
  uint64_t unapplied_bytes() const { return unapplied_.held_bytes(); }
  // Writes in the writer queue, the leader's batch included.
  size_t queued_writes() const;

 private:
  struct PendingWrite;

  PrimaryRvg(std::unique_ptr<VolumeSet> volumes, std::unique_ptr<Srl> srl,
             std::shared_ptr<RlinkSet> rlinks, CheckpointListener* listener,
             PrimaryOptions options);
  Status Recover();
  void LeadBatch(std::unique_lock<std::mutex>& lock);
  // false: the leader's write was answered (LeadBatch returns).
  bool BeginGenerationIfDue(std::unique_lock<std::mutex>& lock, uint64_t epoch);
  // Answers the write at the front of the queue with `status`.
  void AnswerQueueFrontLocked(const Status& status);
  void WakeQueueFrontLocked();
  Status AppendToSrl(std::unique_lock<std::mutex>& lock, size_t* done);
  void PublishAppendedLocked(size_t first, size_t count);
  void FailLocked(const Status& st, const std::string& context);
  Status WaitSynced(std::unique_lock<std::mutex>& lock, uint64_t seq);
  void FlusherLoop();
  bool SyncSrl(std::unique_lock<std::mutex>& lock);
  void ApplySynced(std::unique_lock<std::mutex>& lock);
  void CheckpointerLoop();
  Status Checkpoint();
  struct SeqMark;
  void RecordMarkLocked(uint64_t seq, uint32_t length, std::chrono::steady_clock::time_point now);
  const SeqMark* MarkAfterLocked(uint64_t seq) const;
  // DCM (primary_rvg_dcm.cpp).
  struct DcmScan {
    size_t rlink;
    uint64_t from;  // records [from, to] to mark in the RLINK's bitmap
    uint64_t to;
  };
  void MarkTracked(const WriteRecord& record, const std::vector<size_t>& rlinks);
  void MarkPublishedLocked(std::unique_lock<std::mutex>& lock, size_t count);
  void EnterDcmLocked(size_t rlink, const char* why);
  Status OnSrlFullLocked(bool* dcm_stall);
  void RunDcmScans();
  bool ScanPendingLocked(size_t rlink) const;
  Status MarkAllAndTrack(size_t rlink);
  Status CheckResyncable(size_t rlink) const;

  std::unique_ptr<VolumeSet> volumes_;
  std::unique_ptr<Srl> srl_;
  const std::shared_ptr<RlinkSet> rlinks_;
  CheckpointListener* const listener_;
  const PrimaryOptions options_;
  InflightBuffer inflight_;
  UnappliedWrites unapplied_;

  mutable std::mutex mu_;
  // fenced_: some entry of fences_ is an error (read on every write
  // without the lock).
  Status FenceStatus() const;
  std::atomic<bool> fenced_{false};
  mutable std::mutex fence_mu_;  // fences_
  Status fences_[3];             // by FenceCause; ok = not fenced for it
  // Ranges under verify (few: the verifier's window), under mu_.
  struct RangeWatch {
    uint64_t id;
    uint32_t volume;
    uint64_t offset;
    uint64_t length;
    bool tripped;
  };
  std::vector<RangeWatch> watches_;
  uint64_t next_watch_ = 1;
  void TripWatchesLocked(const WriteRecord& r);
  std::condition_variable queue_cv_;       // the queue became empty (Close waits)
  std::condition_variable flusher_cv_;     // appended data waits for a sync
  std::condition_variable synced_cv_;      // synced_seq_ moved
  std::condition_variable space_cv_;       // the SRL tail moved
  std::condition_variable checkpoint_cv_;  // a checkpoint is wanted now
  std::condition_variable applied_cv_;     // applied_seq_ moved
  std::deque<PendingWrite*> queue_;        // seq order; front is the leader
  std::vector<WriteRecord> batch_;         // the leader's, reused
  size_t leading_ = 0;                     // batch_.size() while a leader runs
  // Invariant: applied_seq_ <= synced_seq_ <= written_seq_; the next batch
  // starts at written_seq_ + 1.
  uint64_t written_seq_ = 0;               // appended to the SRL
  std::atomic<uint64_t> synced_seq_{0};    // durable in the SRL
  uint64_t applied_seq_ = 0;               // written to the images
  Status failure_;                         // sticky
  bool closing_ = false;
  bool closed_ = false;
  bool checkpoint_wanted_ = false;
  bool srl_full_ = false;                  // a leader waits for SRL space
  bool budget_wait_ = false;               // a leader waits for the images
  bool srl_full_logged_ = false;           // said so once per episode
  uint64_t space_abort_epoch_ = 0;         // AbortSpaceWaits() calls
  std::vector<std::function<void()>> sync_listeners_;
  // DCM: records whose writers still have to mark them for the tracking
  // RLINKs (a resync may begin only past them), and the SRL ranges the
  // checkpointer marks before it may move the tail again.
  std::multiset<uint64_t> marking_;
  std::condition_variable marked_cv_;
  std::vector<DcmScan> dcm_scans_;
  std::vector<std::vector<size_t>> batch_mark_for_;  // per batch_ entry: RLINKs to mark for

  // One mark per record the SRL holds: marks_[i] belongs to seq
  // (marks_base_seq_ + i). Running totals and a write time per seq make
  // BytesAfter() and BacklogAfter() O(1), at O(1) cost per write.
  struct SeqMark {
    uint64_t data_before;  // data bytes written before this seq
    uint64_t srl_before;   // SRL record bytes written before this seq
    std::chrono::steady_clock::time_point written_at;  // when it was appended
  };
  std::deque<SeqMark> marks_;
  uint64_t marks_base_seq_ = 1;
  uint64_t data_total_ = 0;
  uint64_t srl_total_ = 0;

  // What the last successful PersistRlinkProgress() got. Checkpointer
  // thread only (and Close(), once the checkpointer has stopped).
  std::vector<RlinkSnapshot> persisted_progress_;

  std::thread flusher_;
  std::thread checkpointer_;
};

}  // namespace rvg
