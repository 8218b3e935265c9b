// SecondaryApplier's bitmap resync and range checks (see the header and
// doc/resync.md): regions and checks queued by the receiver, applied and
// answered on the apply thread.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "core/secondary_applier.h"

namespace rvg {

namespace {

// What a queued item counts against max_region_bytes (region_bytes_ is
// the sum over regions_): like the reorder buffer, so that tiny regions
// cost their keep; a check holds no data, but is counted so that a flood
// of them is bounded like regions are.
uint64_t QueuedCost(uint64_t data_length, bool check) {
  return ReorderBuffer::kRecordOverhead + (check ? 0 : data_length);
}

}  // namespace

bool SecondaryApplier::OfferRegion(WriteRecord region) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t cost = QueuedCost(region.length, false);
  if (region_bytes_ + cost > options_.max_region_bytes) return false;
  region_bytes_ += cost;
  regions_.push_back(ResyncItem{std::move(region), std::nullopt});
  ready_cv_.notify_one();
  return true;
}

bool SecondaryApplier::OfferCheck(const RangeCheck& check) {
  std::lock_guard<std::mutex> lock(mu_);
  if (check.verify) {
    if (verifies_.size() >= options_.max_pending_verifies) return false;
    verifies_.push_back(check);
  } else {
    const uint64_t cost = QueuedCost(check.length, true);
    if (region_bytes_ + cost > options_.max_region_bytes) return false;
    region_bytes_ += cost;
    WriteRecord range;
    range.seq = check.number;
    range.volume = check.volume;
    range.offset = check.offset;
    range.length = check.length;
    regions_.push_back(ResyncItem{std::move(range), check});
  }
  ready_cv_.notify_one();
  return true;
}

std::vector<RangeCheckResult> SecondaryApplier::TakeCheckResults() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RangeCheckResult> results;
  results.swap(check_results_);
  return results;
}

void SecondaryApplier::OfferResyncEnd(uint64_t seq, uint64_t number, bool back) {
  std::lock_guard<std::mutex> lock(mu_);
  resync_end_ = std::make_pair(seq, number);
  resync_end_back_ = back;
  ready_cv_.notify_one();
}

void SecondaryApplier::ResetRegions() {
  std::lock_guard<std::mutex> lock(mu_);
  regions_.clear();
  region_bytes_ = 0;
  resync_end_.reset();
  verifies_.clear();
  check_results_.clear();
  ++region_epoch_;
  regions_done_ = 0;
}

bool SecondaryApplier::ResyncWork() const { return !regions_.empty() || resync_end_.has_value(); }

bool SecondaryApplier::VerifyDue() const {
  return !verifies_.empty() && verifies_.front().after_seq <= applied_seq_.load();
}

// Writes the queued regions and answers the queued checks (and ends the
// resync when asked); called and returns with `lock` held, drops it for
// the I/O.
Status SecondaryApplier::ApplyResync(std::unique_lock<std::mutex>& lock) {
  // One batch of options_.resync_batch_bytes of image to write or check;
  // the end of the resync comes with the last.
  size_t take = 0;
  uint64_t bytes = 0;
  uint64_t charged = 0;
  while (take < regions_.size() && (take == 0 || bytes < options_.resync_batch_bytes)) {
    const ResyncItem& item = regions_[take++];
    bytes += item.record.length;
    charged += QueuedCost(item.record.length, item.check.has_value());
  }
  std::vector<ResyncItem> items(std::make_move_iterator(regions_.begin()),
                                std::make_move_iterator(regions_.begin() + take));
  regions_.erase(regions_.begin(), regions_.begin() + take);
  region_bytes_ -= charged;
  std::optional<std::pair<uint64_t, uint64_t>> end;
  const bool back = resync_end_back_;
  if (regions_.empty()) {
    end = resync_end_;
    resync_end_.reset();
  }
  const uint64_t epoch = region_epoch_;
  lock.unlock();
  std::vector<RangeCheckResult> results;
  // Ordered writes that wait for their sync go first: the checkpoints below
  // must leave no record in the SRL.
  Status st = SyncAndApply();
  if (st.ok() && !items.empty()) st = ApplyResyncItems(items, &results);
  if (st.ok() && end) st = FinishResync(end->first, back);
  lock.lock();
  if (st.ok() && epoch == region_epoch_) {
    // The outcomes before the count that covers them (see the header).
    check_results_.insert(check_results_.end(), results.begin(), results.end());
    uint64_t done = items.empty() ? 0 : items.back().record.seq;
    if (end) done = std::max(done, end->second);
    regions_done_ = std::max(regions_done_.load(), done);
  }
  lock.unlock();
  if (on_change_) on_change_();
  lock.lock();
  return st;
}

Status SecondaryApplier::ApplyResyncItems(const std::vector<ResyncItem>& items,
                                          std::vector<RangeCheckResult>* results) {
  const bool writes = std::any_of(items.begin(), items.end(),
                                  [](const ResyncItem& i) { return !i.check.has_value(); });
  Status st;
  if (writes) {
    // Nothing older may be replayed over a region after a crash, and the
    // records no longer describe the images once regions are written.
    st = Checkpoint(Release::kAll);
    // A way back, made durable before the flag and the regions (undo_area.h).
    if (st.ok() && consistent_ && undo_ != nullptr) st = undo_->Begin(applied_seq_.load());
    if (st.ok() && consistent_) {
      st = store_->SaveConsistency(false);
      if (st.ok()) consistent_ = false;
    }
    if (st.ok() && undo_ != nullptr) {
      // What every region of the batch overwrites, saved in one go (two
      // fdatasyncs) before the first of them is written.
      std::vector<WriteRecord> regions;
      for (const ResyncItem& i : items) {
        if (!i.check) regions.push_back(i.record);
      }
      st = undo_->Save(regions.data(), regions.size(), *volumes_);
    }
  }
  // In order: a check reads what the regions before it wrote.
  std::vector<WriteRecord> run;
  for (size_t i = 0; st.ok() && i < items.size();) {
    if (items[i].check) {
      Result<bool> same = CheckRangeOnImage(*volumes_, *items[i].check, &check_scratch_);
      if (!same.ok()) return same.status().Annotate("resync");
      results->push_back({false, items[i].check->number, *same, 0});
      ++i;
      continue;
    }
    // Adjacent regions in one pwritev; their "seqs" are region numbers.
    run.clear();
    for (; i < items.size() && !items[i].check; ++i) run.push_back(items[i].record);
    size_t written = 0;
    st = volumes_->WriteRecords(run.data(), run.size(), &written, true);
  }
  if (st.ok() && writes) st = volumes_->SyncAll();
  if (!st.ok()) st = st.Annotate("resync: writing regions to the images");
  return st;
}

// Answers the verify checks whose seq the images have reached; called and
// returns with `lock` held, drops it for the reads. The images hold
// exactly the records up to applied_seq_ (later ones wait in unsynced_ or
// the reorder buffer), and only this thread moves it.
Status SecondaryApplier::RunVerifies(std::unique_lock<std::mutex>& lock) {
  const uint64_t seq = applied_seq_.load();
  std::vector<RangeCheck> due;
  auto first_later = std::find_if(verifies_.begin(), verifies_.end(),
                                  [seq](const RangeCheck& c) { return c.after_seq > seq; });
  due.assign(verifies_.begin(), first_later);
  verifies_.erase(verifies_.begin(), first_later);
  const uint64_t epoch = region_epoch_;
  lock.unlock();
  std::vector<RangeCheckResult> results;
  Status st;
  for (const RangeCheck& check : due) {
    Result<bool> same = CheckRangeOnImage(*volumes_, check, &check_scratch_);
    if (!same.ok()) {
      st = same.status().Annotate("verify");
      break;
    }
    results.push_back({true, check.number, *same, seq});
  }
  lock.lock();
  if (epoch == region_epoch_) {
    check_results_.insert(check_results_.end(), results.begin(), results.end());
  }
  lock.unlock();
  if (on_change_) on_change_();
  lock.lock();
  return st;
}

Status SecondaryApplier::FinishResync(uint64_t seq, bool back) {
  if (seq < applied_seq_.load() && !back) {
    return Status::Error(fmt::format("resync: the primary ends it at seq {}, below the applied "
                                     "seq {}",
                                     seq, applied_seq_.load()),
                         EPROTO);
  }
  Status st = Checkpoint(Release::kAll);  // Rebase wants an empty log
  if (st.ok() && seq + 1 < srl_->next_seq()) {
    // Back (a failback): applied_seq first, so that a crash before the SRL
    // moves restarts from the SRL's higher seq (Start() takes it) instead of
    // finding the log below a persisted floor.
    st = PersistAppliedSeq(seq);
    if (st.ok()) st = srl_->Rebase(seq + 1, true);
  }
  // Forward: the SRL first: a crash after it restarts at seq + 1 (Start()
  // takes the applied seq from the SRL and persists it).
  if (st.ok() && seq + 1 > srl_->next_seq()) st = srl_->Rebase(seq + 1);
  if (st.ok()) st = PersistAppliedSeq(seq);
  if (st.ok()) st = store_->SaveConsistency(true);
  if (!st.ok()) return st.Annotate("resync: moving to seq " + std::to_string(seq));
  consistent_ = true;
  // Only now: until the flag is saved, the area is the way back.
  if (undo_ != nullptr) st = undo_->Discard();
  if (!st.ok()) return st.Annotate("resync: complete at seq " + std::to_string(seq));
  {
    std::lock_guard<std::mutex> lock(mu_);
    reorder_.Reset(seq + 1);
  }
  checkpointed_seq_ = seq;
  applied_seq_ = seq;
  spdlog::info("resync complete: the images are a consistent copy at seq {}", seq);
  return Status::Ok();
}
}  // namespace rvg
