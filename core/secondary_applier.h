// SecondaryApplier: the secondary's engine, with secondary logging (VVR's
// term). Writes arrive in any order (Offer) and are held in a ReorderBuffer;
// one apply thread takes each run of consecutive seqs and
//   1. appends it to the secondary's own SRL (the same Srl class, and the
//      same file, the host uses once it becomes primary) and syncs the SRL;
//   2. writes it to the images with pwrite (page cache, not synced), a run
//      of records adjacent on a volume in one pwritev;
//   3. publishes applied_seq(): the data-ack point.
//
// Lazy SRL sync. A record offered with sync_now=false (no writer on the
// primary waits for its data ack: an asynchronous RLINK, or sync_ack=
// received) need not be synced at once: appended records wait for one
// fdatasync that covers them all until more than options.lazy_sync_bytes
// are waiting, or the oldest waited options.lazy_sync_delay, or a record
// offered with sync_now=true arrives (synced at once, with everything
// before it), or a checkpoint, a resync or Stop() needs them. Between
// append and sync they are neither on the images nor in applied_seq(): the
// data ack only comes later, its meaning unchanged. Under a light load of
// small synced writes on the primary, this saves the secondary one SRL
// fdatasync per write.
// A checkpoint — at most options.checkpoint_interval after the first write
// it covers, as soon as the SRL is options.checkpoint_fill full, whenever an
// append finds the SRL full, and at Stop() — syncs the images, persists
// applied_seq through the AppliedSeqStore, and only then may move the SRL
// tail past it. A run larger than the whole SRL goes through in pieces, one
// checkpoint between them.
//
// Retained records (doc/failover.md, "Three hosts"). A checkpoint keeps
// the newest applied records in the SRL while they fill at most
// options.retain_fill of it: after a takeover this host streams them to a
// secondary that is behind it, and a secondary that was ahead of the new
// primary reports their regions for a partial resync. Only an append that
// finds the SRL full, or a resync about to write regions (which the
// records no longer describe), releases every applied record. Start()
// replays only records past the persisted applied_seq: those at or below
// it are on the images, synced before it was persisted.
//
// The data ack. DESIGN.md defines it as "the write is durably in the
// secondary's image". Here it is sent once the write is durable in the
// SRL, which is equivalent: Start() replays the SRL onto the images before
// anything else happens, so a write durable in the SRL is in the image
// after any crash. It keeps the image fdatasync off the ack path.
//
// Invariant: after any crash, including a power cut, the images equal the
// replay of the recovered SRL onto them, which makes them a prefix 1..K of
// the primary's history with K >= every data ack ever sent. Because:
//   - records reach the SRL, and then the images, strictly in seq order,
//     and an image write happens only after the SRL sync covering it
//     (appended records wait for that sync in memory, never on an image);
//   - applied_seq() counts only records synced in the SRL;
//   - the SRL tail moves past a record only after the images holding it are
//     synced and an applied_seq at least that high is persisted;
//   - Start() recovers the SRL with the persisted applied_seq as its floor
//     (a log that ends below it is damage: Start fails, rvgd does not
//     start) and replays it past that seq (what lies at or below it is on
//     the images, synced before the seq was persisted).
//
// Failures are sticky: a failed SRL append or sync, image write or sync, or
// a persistent store error stops the apply thread for good, with health()
// saying why. Nothing is retried, since after a failed fdatasync the
// unsynced data may be gone for good (file_env.h); a restart of rvgd replays
// the SRL. The one exception is a store that is busy (EBUSY: the state
// database locked by another process), which is retried with backoff for up
// to options.store_busy_timeout — but not during Stop(), which skips that
// checkpoint (the SRL tail stays, so the next start replays past it).
//
// Every file access goes through the Srl and VolumeSet handed in, so a test
// can run the applier over a fault-injecting FileEnv.
//
// Bitmap resync (doc/resync.md). While a primary resyncs this secondary
// from its DCM bitmap it sends no ordered writes: first region data
// (OfferRegion), each the current contents of one region, then the end of
// the resync (OfferResyncEnd) with the seq R the regions bring the images
// to. Regions are written to the images on the apply thread only after a
// checkpoint has emptied the SRL of records to replay — otherwise a crash
// and the replay of an older record would bring old data back over a
// region the primary counts as done — and they count as done
// (regions_done) only once the images are synced. At the end the applier
// moves its SRL to R + 1 (Srl::Rebase) and then persists applied_seq = R;
// a crash between the two is recovered by Start(), which takes the applied
// seq from the SRL. The images are inconsistent from the first region to
// the end: the store is told (SaveConsistency) before the first region is
// written and after the end is durable.
//
// Range checks (OfferCheck, core/range_check.h). A checksum resync sends,
// in the regions' numbering, the hash of a range instead of its data; the
// apply thread compares it with its image in order with the regions, so a
// check sees every region numbered before it and none after. A check alone
// writes nothing and leaves the images consistent. A verify's checks wait
// until applied_seq() reaches their after_seq and are answered from the
// images as they are at that seq. Every outcome is queued for the
// receiver (TakeCheckResults); a resync check's outcome is queued no later
// than regions_done() counts it, so a receiver that reads regions_done()
// first and then takes the results never acknowledges a check before it
// has reported it.
//
// Undo area (undo_area.h). When one is given, a resync that is about to
// overwrite consistent images first saves what it overwrites: Begin() at
// the first region, before the store is told inconsistent, then Save()
// before each batch of regions is written; FinishResync discards it once
// the store is told consistent again. Start() recovers it against the
// recovered applied seq and the persisted flag. Invariant: while it
// exists, applied_seq() is its base seq (no ordered write is applied
// during a resync; should one come anyway, the area could no longer
// restore that seq and is discarded, with a warning).
//
// Thread-safe: Offer() and the getters are called by the receiver thread;
// the apply loop runs on its own thread. The owner calls Start() once, then
// Stop() (again harmless: the destructor does).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/range_check.h"
#include "core/record.h"
#include "core/reorder_buffer.h"
#include "core/srl.h"
#include "core/status.h"
#include "core/undo_area.h"
#include "core/volume_set.h"

namespace rvg {

// One entry of a resync's queue: a region's data to write, or (check set)
// only its range, to compare with the primary's hash.
struct ResyncItem {
  WriteRecord record;  // seq: the number among the session's regions
  std::optional<RangeCheck> check;
};

// Where applied_seq is persisted (SQLite on a real secondary): the highest
// seq whose records are synced on the images, i.e. how far the SRL may be
// released. An error with code() EBUSY means "try again later".
class AppliedSeqStore {
 public:
  virtual ~AppliedSeqStore() = default;
  virtual Status SaveAppliedSeq(uint64_t applied_seq) = 0;
  virtual Result<uint64_t> LoadAppliedSeq() = 0;  // 0 if never saved
  // The images are (false) or are again (true) a consistent prefix of the
  // primary's history; persisted before the first resync region is
  // written, and after the resync's end is durable.
  virtual Status SaveConsistency(bool /*consistent*/) { return Status::Ok(); }
  // The flag as last saved (true if never).
  virtual Result<bool> LoadConsistency() { return true; }
};

// SecondaryApplierOptions::max_region_bytes by default; a primary keeps its
// resync window below it (net/rlink_sender.cpp checks at compile time).
inline constexpr uint64_t kDefaultMaxRegionBytes = 64ull << 20;

struct SecondaryApplierOptions {
  // A checkpoint follows the first write it covers by at most this long.
  std::chrono::milliseconds checkpoint_interval{1000};
  // ... and comes as soon as this fraction of the SRL is in use, so that
  // appends rarely find the SRL full.
  double checkpoint_fill = 0.5;
  // Applied records kept in the SRL (see the header comment), as a
  // fraction of it; capped at half of checkpoint_fill so a checkpoint
  // always frees room. 0: a checkpoint releases every applied record.
  double retain_fill = 0.25;
  // The most data one SRL append and sync takes: bounds the delay of the
  // data ack under a burst.
  uint64_t max_batch_bytes = 32ull << 20;
  // Lazy SRL sync of records nobody waits for (see the header comment):
  // synced once this many bytes (at most a quarter of the SRL) wait, or
  // once the oldest waited this long.
  uint64_t lazy_sync_bytes = 4ull << 20;
  std::chrono::microseconds lazy_sync_delay{5000};
  // How long an EBUSY store is retried (first wait store_retry_delay,
  // doubling up to 1 s) before it counts as a failure.
  std::chrono::milliseconds store_busy_timeout{60000};
  std::chrono::milliseconds store_retry_delay{10};
  // Bounds on what a peer can make the applier hold (see ReorderBuffer).
  ReorderLimits reorder_limits;
  // Region data of a resync held before it is written (the primary keeps
  // less in flight; OfferRegion refuses more).
  uint64_t max_region_bytes = kDefaultMaxRegionBytes;
  // Regions written (and synced, and acknowledged) in one go: the primary's
  // window opens a batch at a time, so a batch well under the window keeps
  // data arriving while one is written (at least one region a batch).
  uint64_t resync_batch_bytes = 16ull << 20;
  // Verify checks waiting for their seq (the primary keeps fewer in flight).
  size_t max_pending_verifies = 1024;
};

class SecondaryApplier {
 public:
  // Borrows `volumes`, `srl` (opened, not yet recovered), `store` and
  // `undo` (not yet recovered; null: no undo area is kept), which must
  // outlive the applier. `on_change` runs on the apply thread whenever
  // applied_seq() advances or health() turns bad (it should just wake
  // someone); it may be empty.
  SecondaryApplier(VolumeSet* volumes, Srl* srl, AppliedSeqStore* store,
                   std::function<void()> on_change, SecondaryApplierOptions options = {},
                   UndoArea* undo = nullptr);
  ~SecondaryApplier();
  SecondaryApplier(const SecondaryApplier&) = delete;
  SecondaryApplier& operator=(const SecondaryApplier&) = delete;

  // Recovers (loads the persisted applied_seq, replays the SRL onto the
  // images, syncs them, checkpoints) and starts the apply thread. On error
  // nothing runs and the secondary must not serve.
  Status Start();
  // Logs and applies what is ready, checkpoints, and stops the thread.
  // Returns health(). A state store that is busy at that moment is not
  // waited for (the checkpoint is skipped; the next start replays the SRL).
  Status Stop();

  // Takes a record that passed message validation. `sync_now`: a writer
  // on the primary waits for its data ack, so its SRL sync is not put off
  // (lazy SRL sync, above); true is always safe.
  ReorderBuffer::Offer Offer(WriteRecord record, bool sync_now = true);
  // Drops held records past the contiguous run (a new session starts).
  size_t DropAhead();

  uint64_t received_seq() const;  // every seq up to it is in memory or applied
  // The data-ack point: every seq up to it is synced in the SRL and written
  // to the images.
  uint64_t applied_seq() const { return applied_seq_.load(); }
  std::optional<std::pair<uint64_t, uint64_t>> FirstGap() const;
  uint64_t held_bytes() const;
  Status health() const;  // OK, or why the apply thread stopped

  // ---- bitmap resync ---------------------------------------------------
  // Queues region data (volume, offset, length, data; `seq` is the region's
  // number in this session, counting from 1). False when more than
  // max_region_bytes are held: the session must start again.
  bool OfferRegion(WriteRecord region);
  // Queues the end of the resync at `seq` (>= applied_seq()), numbered
  // `number` among the session's regions: regions_done() reaches it once
  // the end is durable.
  // `back`: a fast failback's resync (doc/failover.md) may end below the
  // applied seq — the seqs held past the fork belonged to the line given up
  // — and moves the SRL and applied_seq back to `seq`.
  void OfferResyncEnd(uint64_t seq, uint64_t number, bool back = false);
  // The highest region number written and synced in this session.
  uint64_t regions_done() const { return regions_done_.load(); }
  // False from the first region of a resync until its end is durable (or
  // as Start() found it): the images are no prefix of any history then.
  bool consistent() const { return consistent_.load(); }
  // A new session: drops queued regions and checks, and restarts the
  // count at 0.
  void ResetRegions();
  // Queues a range check (a resync's in its place among the regions). False
  // when too much is queued: the session must start again.
  bool OfferCheck(const RangeCheck& check);
  // The outcomes of checks done since the last call, in the order done.
  std::vector<RangeCheckResult> TakeCheckResults();

 private:
  void ApplyLoop();
  // Appends `records` to the SRL; syncs and applies when SyncDue(urgent).
  Status LogAndApply(const std::vector<WriteRecord>& records, uint64_t urgent);
  // Syncs the SRL and writes what waits in unsynced_ to the images.
  Status SyncAndApply();
  bool SyncDue(uint64_t urgent) const;
  // kKeepRecent keeps the newest applied records (retain_fill); kAll
  // empties the SRL of everything applied.
  enum class Release { kKeepRecent, kAll };
  Status Checkpoint(Release release = Release::kKeepRecent);
  // The oldest seq the SRL keeps after a checkpoint at `applied`.
  uint64_t RetainFrom(uint64_t applied, Release release) const;
  bool CheckpointDue() const;
  Status PersistAppliedSeq(uint64_t seq);
  void Publish(uint64_t seq);
  bool ResyncWork() const;  // mu_ held
  bool VerifyDue() const;   // mu_ held
  Status ApplyResync(std::unique_lock<std::mutex>& lock);
  // Writes or checks `items` in order; the outcomes of checks go to `results`.
  Status ApplyResyncItems(const std::vector<ResyncItem>& items,
                          std::vector<RangeCheckResult>* results);
  Status RunVerifies(std::unique_lock<std::mutex>& lock);
  Status FinishResync(uint64_t seq, bool back);

  VolumeSet* const volumes_;
  Srl* const srl_;
  AppliedSeqStore* const store_;
  UndoArea* const undo_;  // may be null; apply thread (Start() before it runs)
  const std::function<void()> on_change_;
  const SecondaryApplierOptions options_;

  mutable std::mutex mu_;
  std::condition_variable ready_cv_;
  ReorderBuffer reorder_;
  bool stopping_ = false;
  // The highest seq offered with sync_now (0: none): syncing is due while
  // it is above applied_seq_.
  uint64_t urgent_seq_ = 0;
  // A checkpoint gave up on a busy store because of Stop(): the apply loop
  // ends without counting that as a failure. Apply thread only.
  bool checkpoint_cancelled_ = false;
  Status failure_;
  std::atomic<uint64_t> applied_seq_{0};
  std::thread thread_;

  // Resync, guarded by mu_ (regions_done_ is read without it).
  std::vector<ResyncItem> regions_;
  uint64_t region_bytes_ = 0;
  std::optional<std::pair<uint64_t, uint64_t>> resync_end_;  // {seq, number}
  bool resync_end_back_ = false;  // with resync_end_: OfferResyncEnd's `back`
  uint64_t region_epoch_ = 0;       // ResetRegions() calls
  std::atomic<bool> consistent_{true};  // as the store holds it (read by Start())
  std::atomic<uint64_t> regions_done_{0};
  std::vector<RangeCheck> verifies_;               // in arrival order
  std::vector<RangeCheckResult> check_results_;    // not yet taken
  std::vector<uint8_t> check_scratch_;             // apply thread

  // Owned by the apply thread (by Start() before it runs). Invariant:
  // checkpointed_seq_ <= applied_seq_, the images are synced and the store
  // holds checkpointed_seq_, and the SRL tail is checkpointed_seq_ + 1.
  uint64_t checkpointed_seq_ = 0;
  std::chrono::steady_clock::time_point dirty_since_;  // first write after it
  // Records appended to the SRL and not yet synced (so not on the images
  // and not in applied_seq_), in seq order, right after applied_seq_;
  // their bytes, and when the first of them was appended. Apply thread.
  std::vector<WriteRecord> unsynced_;
  uint64_t unsynced_bytes_ = 0;
  std::chrono::steady_clock::time_point unsynced_since_;
};

}  // namespace rvg
