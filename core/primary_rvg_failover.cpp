// PrimaryRvg's part in failover (doc/failover.md): fencing writes off, and
// reading back what this host wrote past a seq. Apart from primary_rvg.cpp
// to keep each file readable.
#include "core/primary_rvg.h"

namespace rvg {

void PrimaryRvg::Fence(FenceCause cause, const Status& why) {
  std::lock_guard<std::mutex> lock(fence_mu_);
  fences_[static_cast<int>(cause)] =
      why.ok() ? Status::Error("writes are fenced off", EROFS) : why;
  fenced_ = true;
}

void PrimaryRvg::Unfence(FenceCause cause) {
  std::lock_guard<std::mutex> lock(fence_mu_);
  fences_[static_cast<int>(cause)] = Status::Ok();
  bool any = false;
  for (const Status& f : fences_) any = any || !f.ok();
  fenced_ = any;
}

bool PrimaryRvg::fenced_for(FenceCause cause) const {
  std::lock_guard<std::mutex> lock(fence_mu_);
  return !fences_[static_cast<int>(cause)].ok();
}

// The first cause fenced answers: a replaced host says so rather than
// that it waits for a secondary.
Status PrimaryRvg::FenceStatus() const {
  std::lock_guard<std::mutex> lock(fence_mu_);
  for (const Status& f : fences_) {
    if (!f.ok()) return f;
  }
  return Status::Ok();
}

// The write leader, before it hands out seqs (options_.rotator). The
// generation a rotation begins must not start past what a power cut could
// leave of the SRL, so the records appended so far are synced first (only
// the leader appends: none is added while the lock is dropped for it).
bool PrimaryRvg::BeginGenerationIfDue(std::unique_lock<std::mutex>& lock, uint64_t epoch) {
  GenerationRotator* rotator = options_.rotator;
  if (rotator == nullptr || !failure_.ok() || !rotator->RotationDue()) return true;
  if (synced_seq_ != written_seq_ && !SyncSrl(lock)) return true;  // failure_ fails the queue
  if (epoch != space_abort_epoch_) {  // a stop failed the queue while we synced
    WakeQueueFrontLocked();
    return false;
  }
  if (synced_seq_ != written_seq_ || !rotator->RotationDue()) return true;
  Status rotated = rotator->Rotate(written_seq_ + 1);
  if (rotated.ok()) return true;
  // The leader's write fails, the engine does not: the next leader asks
  // again.
  AnswerQueueFrontLocked(Status::Error("beginning a new generation: " + rotated.message(), EIO));
  return false;
}

Result<std::vector<VolumeExtent>> PrimaryRvg::ExtentsSince(uint64_t from_seq) const {
  std::vector<VolumeExtent> extents;
  const uint64_t last = last_seq();
  if (from_seq > last) return extents;
  if (from_seq < srl_tail_seq()) {
    return Status::Error("the SRL holds seqs from " + std::to_string(srl_tail_seq()) +
                             " only, not from " + std::to_string(from_seq),
                         ENOENT);
  }
  for (uint64_t seq = from_seq; seq <= last; ++seq) {
    Result<WriteRecord> r = GetRecord(seq);
    if (!r.ok()) {
      return Status::Error("reading seq " + std::to_string(seq) + " back: " +
                               r.status().message(),
                           r.status().code() == 0 ? EIO : r.status().code());
    }
    extents.push_back({r->volume, r->offset, r->length});
  }
  return extents;
}

}  // namespace rvg
