// PrimaryRvg: the primary's write pipeline for one RVG — the engine behind
// the FUSE mount.
//
// Write path (DESIGN.md "Write path on the primary"):
//   1. A write gets the next seq as it joins the writer queue; the queue
//      order is the seq order.
//   2. The writer at the head of the queue becomes the leader and commits a
//      batch for everyone queued behind it: one SRL append (one pwritev, or
//      two when the log wraps), then each record is applied to its image
//      with pwrite in seq order. Applying in the leader is what keeps the
//      local images in exactly the SRL's order even for overlapping writes.
//   3. A background flusher fdatasyncs the SRL whenever something was
//      appended since the last sync, and publishes synced_seq(). Only synced
//      records are handed to RLINK senders, so no secondary can hold a write
//      the primary could lose in a crash.
//   4. A write is answered when appended (durability "flush"), or when
//      synced (durability "strict", or a handle opened O_SYNC/O_DSYNC).
//      Flush() waits until everything answered before it is synced.
//   5. A checkpointer periodically (and whenever the SRL is full) fdatasyncs
//      the images, persists the RLINKs' progress through the
//      CheckpointListener, and then moves the SRL tail up to the oldest
//      record that the images or some RLINK (by its persisted data ack)
//      still need. A full SRL makes writers wait for that.
//
// Failure: an I/O error on the SRL or an image makes the engine fail every
// later write with the same error (sticky), because the order of the log and
// the images can no longer be vouched for; a restart replays the SRL.
//
// Crash recovery happens in Open(): every valid SRL record from the last
// checkpoint on is re-applied to the images, in order, and the images are
// synced before the first new write is accepted.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/inflight_buffer.h"
#include "core/record.h"
#include "core/rlink_progress.h"
#include "core/srl.h"
#include "core/status.h"
#include "core/volume_io.h"
#include "core/volume_set.h"

namespace rvg {

struct PrimaryOptions {
  bool strict = false;                             // RVG attribute durability=strict
  uint64_t inflight_budget_bytes = 64ull << 20;    // memory for RLINKs that keep up
  uint64_t max_batch_bytes = 8ull << 20;           // one group commit at most
  size_t max_batch_records = 512;
  std::chrono::milliseconds checkpoint_interval{500};
};

// A consistent copy of one RLINK's progress, taken for a checkpoint.
struct RlinkSnapshot {
  std::string name;
  RlinkState state = RlinkState::kDisconnected;
  uint64_t sent_seq = 0;
  uint64_t net_acked_seq = 0;
  uint64_t data_acked_seq = 0;
};

// Persists RLINK progress; called by the checkpointer before the SRL tail may
// move past anything the snapshot says is still needed.
class CheckpointListener {
 public:
  virtual ~CheckpointListener() = default;
  virtual Status PersistRlinkProgress(const std::vector<RlinkSnapshot>& rlinks) = 0;
};

class PrimaryRvg : public VolumeIo {
 public:
  // Replays `srl` (on which Recover() has not been called) into `volumes`,
  // then starts the flusher and checkpointer. `rlinks` are this RVG's RLINKs
  // with their persisted progress loaded; the engine only reads them.
  static Result<std::unique_ptr<PrimaryRvg>> Open(
      std::unique_ptr<VolumeSet> volumes, std::unique_ptr<Srl> srl,
      std::vector<std::shared_ptr<RlinkProgress>> rlinks, CheckpointListener* listener,
      PrimaryOptions options);

  ~PrimaryRvg() override;

  // VolumeIo.
  const std::vector<VolumeSpec>& Volumes() const override { return volumes_->specs(); }
  Status Read(uint32_t volume, uint64_t offset, void* buf, size_t length) override;
  Status Write(uint32_t volume, uint64_t offset, const void* data, size_t length,
               bool strict) override;
  Status Flush() override;

  // Stops accepting writes, waits for the queued ones, syncs, takes a final
  // checkpoint and stops the background threads. Idempotent.
  Status Close();

  // For RLINK senders. Records up to synced_seq() may be sent.
  uint64_t synced_seq() const { return synced_seq_.load(); }
  uint64_t last_seq() const;      // newest record appended and applied
  uint64_t srl_tail_seq() const;  // oldest record the SRL still holds
  // From memory when recent, else read back from the SRL.
  Result<WriteRecord> GetRecord(uint64_t seq) const;
  // `listener` runs on the flusher thread after each sync; it must be quick
  // and must not call back into the engine's writers (e.g. signal an fd).
  void AddSyncListener(std::function<void()> listener);

  // For status.
  uint64_t srl_used_bytes() const { return srl_->used_bytes(); }
  uint64_t srl_capacity_bytes() const { return srl_->capacity_bytes(); }
  const std::string& srl_path() const { return srl_->path(); }
  // Data bytes written after `seq` (bytes an RLINK acked up to `seq` is behind).
  uint64_t BytesAfter(uint64_t seq) const;
  // The sticky failure, OK while healthy.
  Status health() const;

 private:
  struct PendingWrite;

  PrimaryRvg(std::unique_ptr<VolumeSet> volumes, std::unique_ptr<Srl> srl,
             std::vector<std::shared_ptr<RlinkProgress>> rlinks, CheckpointListener* listener,
             PrimaryOptions options);
  Status Recover();
  void LeadBatch(std::unique_lock<std::mutex>& lock);
  Status AppendToSrl(std::vector<WriteRecord>& batch);
  Status WaitSynced(std::unique_lock<std::mutex>& lock, uint64_t seq);
  void FlusherLoop();
  void CheckpointerLoop();
  Status Checkpoint();
  void RecordBytesLocked(uint64_t seq, uint32_t length);

  std::unique_ptr<VolumeSet> volumes_;
  std::unique_ptr<Srl> srl_;
  std::vector<std::shared_ptr<RlinkProgress>> rlinks_;
  CheckpointListener* const listener_;
  const PrimaryOptions options_;
  InflightBuffer inflight_;

  mutable std::mutex mu_;
  std::condition_variable queue_cv_;       // leader hand-off and completion
  std::condition_variable flusher_cv_;     // appended data waits for a sync
  std::condition_variable synced_cv_;      // synced_seq_ moved
  std::condition_variable space_cv_;       // the SRL tail moved
  std::condition_variable checkpoint_cv_;  // a checkpoint is wanted now
  std::deque<PendingWrite*> queue_;        // seq order; front is the leader
  std::vector<WriteRecord> batch_;         // the leader's, reused
  uint64_t next_seq_ = 1;                  // next seq to hand out
  uint64_t written_seq_ = 0;               // appended and applied
  std::atomic<uint64_t> synced_seq_{0};
  Status failure_;                         // sticky
  bool closing_ = false;
  bool closed_ = false;
  bool checkpoint_wanted_ = false;
  bool srl_full_logged_ = false;
  std::vector<std::function<void()>> sync_listeners_;

  // bytes_before_[i] = data bytes written before seq (bytes_base_seq_ + i);
  // covers the records the SRL holds, so BytesAfter() is O(1).
  std::deque<uint64_t> bytes_before_;
  uint64_t bytes_base_seq_ = 1;
  uint64_t bytes_total_ = 0;

  std::thread flusher_;
  std::thread checkpointer_;
};

}  // namespace rvg
