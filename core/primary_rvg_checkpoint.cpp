// PrimaryRvg's checkpointer: periodically (and whenever the SRL is full)
// it makes the images durable, persists the RLINKs' progress, and only then
// moves the SRL tail past what nobody needs any more (primary_rvg.h, step 5).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>

#include "core/primary_rvg.h"

namespace rvg {

namespace {

// Whether `a` and `b` agree on everything a CheckpointListener persists.
bool SameProgress(const std::vector<RlinkSnapshot>& a, const std::vector<RlinkSnapshot>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const RlinkSnapshot& x, const RlinkSnapshot& y) {
                      return x.name == y.name && x.persistent == y.persistent &&
                             x.sent_seq == y.sent_seq && x.net_acked_seq == y.net_acked_seq &&
                             x.data_acked_seq == y.data_acked_seq;
                    });
}

}  // namespace

void PrimaryRvg::CheckpointerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!closed_) {
    checkpoint_cv_.wait_for(lock, options_.checkpoint_interval,
                            [&] { return checkpoint_wanted_ || closed_; });
    if (closed_) break;
    checkpoint_wanted_ = false;
    if (!failure_.ok()) continue;
    lock.unlock();
    // Records an RLINK switching to DCM left in the SRL are marked before
    // any checkpoint may release them; only this thread moves the tail.
    RunDcmScans();
    Status st = Checkpoint();
    if (!st.ok()) spdlog::warn("checkpoint not taken: {}", st.message());
    lock.lock();
  }
}

Status PrimaryRvg::Checkpoint() {
  uint64_t applied;
  uint64_t synced;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // After a failure nothing is vouched for: above all, a retried image
    // sync could "succeed" for pages the kernel dropped.
    if (!failure_.ok()) return failure_;
    applied = applied_seq_;
    synced = synced_seq_.load();
  }
  // Order matters: images durable first, then the RLINKs' acks durable, and
  // only then may the SRL forget records before the new tail. An idle
  // checkpoint costs no I/O: SyncAll() skips images not written since their
  // last sync, the progress is persisted only when it changed, and
  // AdvanceTail() writes nothing when neither the tail nor synced moved.
  Status st = volumes_->SyncAll();
  if (!st.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    FailLocked(st, "syncing the images");
    return failure_;
  }

  // The RLINKs' needs and the engine's pending DCM work are read together,
  // under the lock that every switch into DCM holds: a record is either
  // still needed by its RLINK, or waits in a scan or in marking_, or is in
  // a bitmap already. Either way the tail stays below it until it is.
  std::vector<RlinkSnapshot> snaps;
  uint64_t dcm_floor = UINT64_MAX;
  {
    std::lock_guard<std::mutex> lock(mu_);
    snaps = rlinks_->Snapshot();
    for (const DcmScan& scan : dcm_scans_) dcm_floor = std::min(dcm_floor, scan.from);
    if (!marking_.empty()) dcm_floor = std::min(dcm_floor, *marking_.begin());
  }
  if (listener_ != nullptr && !SameProgress(snaps, persisted_progress_)) {
    // A database error (busy, say) is not an I/O failure of the data: the
    // tail just stays where it is until a later checkpoint persists.
    st = listener_->PersistRlinkProgress(snaps);
    if (!st.ok()) return st.Annotate("persisting RLINK progress");
    persisted_progress_ = snaps;
  }

  uint64_t new_tail = std::min(applied + 1, dcm_floor);
  for (const RlinkSnapshot& s : snaps) {
    // A stale RLINK needs a full sync whatever the SRL holds, and one in
    // DCM is owed regions: neither pins the log.
    if (s.needed_seq) new_tail = std::min(new_tail, *s.needed_seq);
  }
  const uint64_t old_tail = srl_->tail_seq();
  new_tail = std::max(new_tail, old_tail);
  st = srl_->AdvanceTail(new_tail, synced);
  if (!st.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    FailLocked(st, "writing the SRL checkpoint");
    return failure_;
  }

  std::lock_guard<std::mutex> lock(mu_);
  while (!marks_.empty() && marks_base_seq_ + 1 < new_tail) {
    marks_.pop_front();
    ++marks_base_seq_;
  }
  if (srl_->tail_seq() > old_tail) space_cv_.notify_all();
  return Status::Ok();
}

}  // namespace rvg
