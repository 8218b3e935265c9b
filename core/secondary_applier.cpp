#include "core/secondary_applier.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/srl_replay.h"

namespace rvg {

namespace {
using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kMaxStoreRetryDelay{1000};
}  // namespace

SecondaryApplier::SecondaryApplier(VolumeSet* volumes, Srl* srl, AppliedSeqStore* store,
                                   std::function<void()> on_change,
                                   SecondaryApplierOptions options, UndoArea* undo)
    : volumes_(volumes),
      srl_(srl),
      store_(store),
      undo_(undo),
      on_change_(std::move(on_change)),
      options_(options),
      reorder_(1, options.reorder_limits) {}

SecondaryApplier::~SecondaryApplier() {
  Status st = Stop();
  if (!st.ok()) spdlog::error("stopping the applier: {}", st.message());
}

Status SecondaryApplier::Start() {
  Result<uint64_t> persisted = store_->LoadAppliedSeq();
  if (!persisted.ok()) return persisted.status().Annotate("reading the persisted applied_seq");
  // Everything the images may hold beyond the last checkpoint is in the SRL:
  // redo it, so the images are exactly the recovered history.
  Result<SrlReplayResult> replay = ReplaySrl(srl_, volumes_, *persisted, {}, *persisted + 1);
  if (!replay.ok()) return replay.status();
  applied_seq_ = srl_->next_seq() - 1;
  // The SRL may end below the persisted value only after a failback's
  // Rebase back (FinishResync), where the images are synced at its seq.
  checkpointed_seq_ = std::min(*persisted, applied_seq_.load());
  dirty_since_ = Clock::now();
  Status st = Checkpoint();
  if (!st.ok()) return st;
  Result<bool> consistent = store_->LoadConsistency();
  if (!consistent.ok()) return consistent.status().Annotate("reading the consistency flag");
  bool images_consistent = *consistent;
  if (undo_ != nullptr) {
    st = undo_->Recover(applied_seq_.load(), &images_consistent,
                        [this] { return store_->SaveConsistency(true); });
    if (!st.ok()) return st;
  }
  consistent_ = images_consistent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reorder_.Reset(applied_seq_.load() + 1);
  }
  thread_ = std::thread([this] { ApplyLoop(); });
  return Status::Ok();
}

Status SecondaryApplier::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  ready_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  return health();
}

ReorderBuffer::Offer SecondaryApplier::Offer(WriteRecord record, bool sync_now) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t before = reorder_.next_seq();
  const uint64_t seq = record.seq;
  ReorderBuffer::Offer result = reorder_.Add(std::move(record));
  bool wake = result == ReorderBuffer::Offer::kAccepted && reorder_.contiguous_seq() >= before;
  // A duplicate counts too: the primary may resend, flagged, a record that
  // waits for its lazy sync here.
  if (sync_now && seq > urgent_seq_ &&
      (result == ReorderBuffer::Offer::kAccepted || result == ReorderBuffer::Offer::kDuplicate)) {
    urgent_seq_ = seq;
    wake = true;
  }
  if (wake) ready_cv_.notify_one();
  return result;
}

size_t SecondaryApplier::DropAhead() {
  std::lock_guard<std::mutex> lock(mu_);
  return reorder_.DropAhead();
}

uint64_t SecondaryApplier::received_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reorder_.contiguous_seq();
}

std::optional<std::pair<uint64_t, uint64_t>> SecondaryApplier::FirstGap() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reorder_.FirstGap();
}

uint64_t SecondaryApplier::held_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reorder_.held_bytes();
}

Status SecondaryApplier::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

void SecondaryApplier::Publish(uint64_t seq) {
  if (applied_seq_.load() == checkpointed_seq_) dirty_since_ = Clock::now();
  applied_seq_ = seq;
  if (on_change_) on_change_();
}

bool SecondaryApplier::CheckpointDue() const {
  if (applied_seq_.load() == checkpointed_seq_) return false;
  if (Clock::now() - dirty_since_ >= options_.checkpoint_interval) return true;
  return static_cast<double>(srl_->used_bytes()) >=
         options_.checkpoint_fill * static_cast<double>(srl_->capacity_bytes());
}

Status SecondaryApplier::PersistAppliedSeq(uint64_t seq) {
  const Clock::time_point deadline = Clock::now() + options_.store_busy_timeout;
  std::chrono::milliseconds delay = options_.store_retry_delay;
  for (int attempt = 1;; ++attempt) {
    Status st = store_->SaveAppliedSeq(seq);
    if (st.ok()) return st;
    if (st.code() != EBUSY) return st.Annotate("checkpoint: persisting applied_seq");
    if (Clock::now() + delay > deadline) {
      return Status::Error(
          fmt::format("checkpoint: persisting applied_seq {}: the state database stayed busy for "
                      "{} ms ({}); stop whatever holds it locked, then restart rvgd",
                      seq, options_.store_busy_timeout.count(), st.message()),
          EBUSY);
    }
    if (attempt == 1 || attempt % 10 == 0) {
      spdlog::warn("persisting applied_seq {}: {} (attempt {}); retrying", seq, st.message(),
                   attempt);
    }
    // A stop does not wait out the busy store: the tail has not moved, so
    // the next start replays the SRL past the last persisted seq.
    std::unique_lock<std::mutex> lock(mu_);
    if (ready_cv_.wait_for(lock, delay, [this] { return stopping_; })) {
      checkpoint_cancelled_ = true;
      return Status::Error(fmt::format("checkpoint: applied_seq {} not persisted, the state "
                                       "database is busy and rvgd is stopping; the next start "
                                       "replays the SRL",
                                       seq),
                           ECANCELED);
    }
    delay = std::min(delay * 2, kMaxStoreRetryDelay);
  }
}

Status SecondaryApplier::Checkpoint(Release release) {
  const uint64_t applied = applied_seq_.load();
  if (applied != checkpointed_seq_) {
    // Images first: the tail may pass a record only once the image holding
    // it is durable, and the store may claim only what is.
    Status st = volumes_->SyncAll();
    if (!st.ok()) return st.Annotate("checkpoint: syncing the images");
    st = PersistAppliedSeq(applied);
    if (!st.ok()) return st;
    checkpointed_seq_ = applied;
  }
  const uint64_t tail = RetainFrom(applied, release);
  if (tail <= srl_->tail_seq()) return Status::Ok();
  Status st = srl_->AdvanceTail(tail, applied);
  if (!st.ok()) return st.Annotate("checkpoint: releasing the SRL");
  return Status::Ok();
}

uint64_t SecondaryApplier::RetainFrom(uint64_t applied, Release release) const {
  const uint64_t tail = srl_->tail_seq();
  if (release == Release::kAll || tail > applied) return applied + 1;
  const double fill = std::min(options_.retain_fill, options_.checkpoint_fill / 2);
  const auto budget =
      static_cast<uint64_t>(std::max(0.0, fill) * static_cast<double>(srl_->capacity_bytes()));
  const uint64_t used = srl_->used_bytes();
  if (used <= budget) return tail;
  // Records differ in size; the average is close enough for a budget that
  // only needs to leave room. Down to half the budget, so that a poor
  // estimate (small old records, large new ones) still frees enough that
  // the next checkpoint is not due at once; later ones correct it.
  const uint64_t records = srl_->next_seq() - tail;
  const uint64_t average = std::max<uint64_t>(1, used / std::max<uint64_t>(1, records));
  const uint64_t release_count = (used - budget / 2 + average - 1) / average;
  return std::min(applied + 1, tail + release_count);
}

Status SecondaryApplier::LogAndApply(const std::vector<WriteRecord>& records, uint64_t urgent) {
  if (undo_ != nullptr && undo_->active()) {
    spdlog::warn("ordered writes from seq {} arrive while a resync is unfinished: the undo area "
                 "could no longer restore seq {}, removing it",
                 records.front().seq, applied_seq_.load());
    Status st = undo_->Discard();
    if (!st.ok()) return st;
  }
  size_t done = 0;
  bool just_checkpointed = false;
  while (done < records.size()) {
    // One append for up to max_batch_bytes (at least a record).
    size_t end = done + 1;
    uint64_t bytes = records[done].length;
    while (end < records.size() && bytes + records[end].length <= options_.max_batch_bytes) {
      bytes += records[end++].length;
    }
    Result<size_t> appended = srl_->Append(&records[done], end - done);
    if (!appended.ok()) return appended.status().Annotate("logging writes in the SRL");
    if (*appended == 0) {
      // Full. Once what waits for its sync is synced and applied, every
      // record in the SRL is, and a checkpoint empties it.
      if (just_checkpointed) {
        return Status::Error(fmt::format("internal: SRL {} is still full after a checkpoint",
                                         srl_->path()));
      }
      Status st = SyncAndApply();
      if (st.ok()) st = Checkpoint(Release::kAll);
      if (!st.ok()) return st;
      just_checkpointed = true;
      continue;
    }
    just_checkpointed = false;
    if (unsynced_.empty()) unsynced_since_ = Clock::now();
    for (size_t i = done; i < done + *appended; ++i) {
      unsynced_.push_back(records[i]);
      unsynced_bytes_ += records[i].length;
    }
    done += *appended;
    if (SyncDue(urgent)) {
      Status st = SyncAndApply();
      if (!st.ok()) return st;
    }
    if (CheckpointDue()) {
      Status st = Checkpoint();
      if (!st.ok()) return st;
    }
  }
  return Status::Ok();
}

bool SecondaryApplier::SyncDue(uint64_t urgent) const {
  if (unsynced_.empty()) return false;
  // A waited-for record may still be missing behind a gap: syncing what is
  // here already is early, never wrong.
  if (urgent > applied_seq_.load()) return true;
  if (unsynced_bytes_ >= std::min(options_.lazy_sync_bytes, srl_->capacity_bytes() / 4)) {
    return true;
  }
  return Clock::now() - unsynced_since_ >= options_.lazy_sync_delay;
}

Status SecondaryApplier::SyncAndApply() {
  if (unsynced_.empty()) return Status::Ok();
  Status st = srl_->Sync();
  if (!st.ok()) return st.Annotate("logging writes in the SRL");
  // Only now may they reach the images (the replay invariant above).
  size_t written = 0;
  st = volumes_->WriteRecords(unsynced_.data(), unsynced_.size(), &written);
  if (!st.ok()) return st.Annotate("applying writes to the images");
  Publish(unsynced_.back().seq);
  unsynced_.clear();
  unsynced_bytes_ = 0;
  return Status::Ok();
}

void SecondaryApplier::ApplyLoop() {
  auto has_work = [this] {
    return stopping_ || ResyncWork() || VerifyDue() ||
           reorder_.contiguous_seq() >= reorder_.next_seq() ||
           (!unsynced_.empty() && urgent_seq_ > applied_seq_.load());
  };
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    std::vector<WriteRecord> ready = reorder_.PopReady();
    // Read with the records: covers every waited-for record among them.
    const uint64_t urgent = urgent_seq_;
    const bool last_round = ready.empty() && stopping_;
    Status st;
    // Ordered writes already in hand go first; a resync's regions follow
    // them (the primary sends no ordered write during a resync).
    if (ready.empty() && ResyncWork()) st = ApplyResync(lock);
    if (st.ok() && ready.empty() && VerifyDue()) st = RunVerifies(lock);
    lock.unlock();
    if (st.ok() && !ready.empty()) st = LogAndApply(ready, urgent);
    if (st.ok() && (last_round || SyncDue(urgent))) st = SyncAndApply();
    if (st.ok() && (last_round || CheckpointDue())) st = Checkpoint();
    lock.lock();
    if (checkpoint_cancelled_) {
      lock.unlock();
      spdlog::warn("{}", st.message());
      return;
    }
    if (!st.ok()) {
      // Applying out of order or past a failed sync is never an option: the
      // images stay the replay of the SRL, the primary keeps the rest.
      failure_ = st;
      lock.unlock();
      spdlog::error("applier stopped: {}; restart rvgd to replay the SRL", st.message());
      if (on_change_) on_change_();
      return;
    }
    if (last_round) return;
    if (!ready.empty()) continue;
    // Sleep until there is work, or until the lazy sync or the checkpoint
    // is due.
    std::optional<Clock::time_point> wake;
    if (!unsynced_.empty()) wake = unsynced_since_ + options_.lazy_sync_delay;
    if (applied_seq_.load() > checkpointed_seq_) {
      const Clock::time_point checkpoint = dirty_since_ + options_.checkpoint_interval;
      wake = wake ? std::min(*wake, checkpoint) : checkpoint;
    }
    if (wake) {
      ready_cv_.wait_until(lock, *wake, has_work);
    } else {
      ready_cv_.wait(lock, has_work);
    }
  }
}

}  // namespace rvg
