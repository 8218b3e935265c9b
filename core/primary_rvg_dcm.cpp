// PrimaryRvg's part in SRL overflow protection and bitmap resync: what
// happens when the SRL is full for an RLINK (srlprot), the marking of
// writes in the DCM of tracking RLINKs, and the hand-over between tracking
// and resyncing. Every transition that changes whether writes are tracked
// happens here, under the engine's lock, because only there is the set of
// written seqs fixed: a write appended before the switch is covered by a
// scan of the SRL, one appended after it marks itself (mark_for). Until a
// record is marked (scan pending, or its writer still marking) it holds the
// SRL tail (Checkpoint reads both under the same lock).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/primary_rvg.h"

namespace rvg {

// A bitmap that cannot be persisted cannot promise the secondary a region:
// the RLINK goes stale (a full sync) rather than lose a write silently. The
// write itself is in the SRL and the images, so it is not failed.
void PrimaryRvg::MarkTracked(const WriteRecord& record, const std::vector<size_t>& rlinks) {
  if (options_.dcm == nullptr) return;
  for (size_t i : rlinks) {
    Status st = options_.dcm->Mark(i, {record.volume, record.offset, record.length});
    if (!st.ok()) {
      spdlog::error("rlink {}: {}; it needs a full sync now (rvgadm startrep --full)",
                    rlinks_->name(i), st.message());
      rlinks_->MarkStale(i, "its DCM could not be saved");
    }
  }
}

// The leader marks the first `count` records of its batch (the ones it
// appended) instead of their writers, who then find nothing to mark.
void PrimaryRvg::MarkPublishedLocked(std::unique_lock<std::mutex>& lock, size_t count) {
  bool marked = false;
  for (size_t i = 0; i < count; ++i) {
    if (batch_mark_for_[i].empty()) continue;
    const std::vector<size_t> rlinks = std::move(batch_mark_for_[i]);
    batch_mark_for_[i].clear();
    const WriteRecord record = batch_[i];
    lock.unlock();
    MarkTracked(record, rlinks);
    lock.lock();
    marking_.erase(marking_.find(record.seq));
    marked = true;
  }
  if (marked) marked_cv_.notify_all();
}

void PrimaryRvg::EnterDcmLocked(size_t rlink, const char* why) {
  const std::optional<uint64_t> needed = rlinks_->NeededSeq(rlink);
  if (!rlinks_->EnterDcm(rlink, why)) return;
  if (needed && *needed <= written_seq_) dcm_scans_.push_back({rlink, *needed, written_seq_});
  checkpoint_wanted_ = true;
  checkpoint_cv_.notify_one();
}

Status PrimaryRvg::OnSrlFullLocked(bool* dcm_stall) {
  const uint64_t tail = srl_->tail_seq();
  for (const RlinkSnapshot& s : rlinks_->Snapshot()) {
    // Only an RLINK that holds the tail where it is, and needs a record
    // the images already have, overflows; the images catching up (or
    // writes being marked) free the rest by themselves.
    if (!s.needed_seq || *s.needed_seq > tail || *s.needed_seq > applied_seq_) continue;
    const size_t i = *rlinks_->Find(s.name);
    const uint64_t behind = written_seq_ - std::min(written_seq_, *s.needed_seq - 1);
    switch (s.policy.srlprot) {
      case SrlProt::kFail:
        return Status::Error("write refused: the SRL is full and secondary " + s.name + " (" +
                                 RlinkStateName(s.state) + ", " + std::to_string(behind) +
                                 " writes behind) has srlprot=fail",
                             EIO);
      case SrlProt::kOverride:
      case SrlProt::kOff:
        spdlog::warn("rlink {}: the SRL overflowed {} writes behind it (srlprot={}); it is "
                     "stale and needs rvgadm startrep --full",
                     s.name, behind, SrlProtName(s.policy.srlprot));
        rlinks_->MarkStale(i, "SRL overflow, srlprot override/off");
        checkpoint_wanted_ = true;
        break;
      case SrlProt::kDcm:
        // Connected (a resync included: cutting it short might never let
        // it finish) the dcm policy stalls writes.
        if (rlinks_->SessionIsUp(i)) {
          *dcm_stall = true;
          break;
        }
        [[fallthrough]];
      case SrlProt::kAutoDcm:
        if (options_.dcm == nullptr) {
          // No bitmap to fall back on: wait for the secondary.
          break;
        }
        // During a resync too: writes must not wait for a whole resync;
        // the RLINK goes back to its bitmap (the records after its resync
        // seq are marked) and the sender starts over.
        spdlog::warn("rlink {}: the SRL overflowed {} writes behind it; switching to DCM "
                     "(srlprot={}): it will be resynced from its bitmap",
                     s.name, behind, SrlProtName(s.policy.srlprot));
        EnterDcmLocked(i, "SRL overflow");
        break;
    }
  }
  return Status::Ok();
}

bool PrimaryRvg::ScanPendingLocked(size_t rlink) const {
  return std::any_of(dcm_scans_.begin(), dcm_scans_.end(),
                     [rlink](const DcmScan& s) { return s.rlink == rlink; });
}

// Marks, in each RLINK's bitmap, the records it was owed when it switched
// to DCM. Runs on the checkpointer thread (or in Close()), the only one
// that moves the SRL tail, so the records are still there. A scan that
// cannot read a record leaves the RLINK stale: the bitmap would be
// incomplete.
void PrimaryRvg::RunDcmScans() {
  std::vector<DcmScan> scans;
  {
    std::lock_guard<std::mutex> lock(mu_);
    scans = dcm_scans_;
  }
  for (const DcmScan& scan : scans) {
    std::vector<VolumeExtent> extents;
    Status st;
    for (uint64_t seq = scan.from; seq <= scan.to && st.ok(); ++seq) {
      Result<WriteRecord> r = GetRecord(seq);
      if (!r.ok()) {
        st = r.status().Annotate("reading seq " + std::to_string(seq) + " back from the SRL");
        break;
      }
      extents.push_back({r->volume, r->offset, r->length});
    }
    if (st.ok() && options_.dcm != nullptr) st = options_.dcm->MarkExtents(scan.rlink, extents);
    if (!st.ok()) {
      spdlog::error("rlink {}: switching to DCM: {}; it needs a full sync now "
                    "(rvgadm startrep --full)",
                    rlinks_->name(scan.rlink), st.message());
      rlinks_->MarkStale(scan.rlink, "its DCM could not be completed");
    } else {
      spdlog::info("rlink {}: {} writes (seq {}..{}) marked in its DCM", rlinks_->name(scan.rlink),
                   extents.size(), scan.from, scan.to);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  dcm_scans_.erase(dcm_scans_.begin(), dcm_scans_.begin() + static_cast<std::ptrdiff_t>(scans.size()));
  marked_cv_.notify_all();
}

Result<uint64_t> PrimaryRvg::BeginResync(size_t rlink) {
  std::unique_lock<std::mutex> lock(mu_);
  if (ScanPendingLocked(rlink)) {
    return Status::Error("the records it was owed are still being marked in its DCM", EAGAIN);
  }
  // Tracking stops at R, under the lock that fixes the seqs: from here the
  // RLINK holds the SRL from R + 1, and a write after R travels in order.
  const uint64_t seq = written_seq_;
  if (!rlinks_->BeginResync(rlink, seq)) {
    return Status::Error("RLINK " + rlinks_->name(rlink) + " is " +
                             RlinkStateName(rlinks_->state(rlink)) + ", not ready for a resync",
                         EAGAIN);
  }
  // Writes up to R still marking (they mark for this RLINK whatever its
  // state now) must be in the bitmap before the regions are read.
  marked_cv_.wait(lock, [&] { return marking_.empty() || *marking_.begin() > seq; });
  return seq;
}

void PrimaryRvg::InterruptResync(size_t rlink) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!rlinks_->ResyncSeq(rlink)) return;
  EnterDcmLocked(rlink, "resync interrupted");
}

Status PrimaryRvg::StartFullSync(size_t rlink) {
  if (options_.dcm == nullptr) return Status::Error("no DCM to run a full sync from");
  if (rlinks_->state(rlink) != RlinkState::kStale) {
    return Status::Error("RLINK " + rlinks_->name(rlink) + " is " +
                         RlinkStateName(rlinks_->state(rlink)) +
                         "; startrep --full starts a stale or stopped RLINK (to copy a replicating "
                         "one again: rvgadm resync --full)");
  }
  return MarkAllAndTrack(rlink);
}

// Every region dirty first, then tracking: a write in between is covered.
Status PrimaryRvg::MarkAllAndTrack(size_t rlink) {
  Status st = options_.dcm->MarkAll(rlink);
  if (!st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  if (!rlinks_->StartFullSync(rlink)) {
    return Status::Error("RLINK " + rlinks_->name(rlink) + " changed state (it is " +
                         RlinkStateName(rlinks_->state(rlink)) + " now); try again");
  }
  return Status::Ok();
}

// What `resync` refuses, whether --full or not: a stale RLINK has no
// bitmap to trust (its data ack is behind the SRL and nothing tracked
// since), and a paused one must not start sending behind the
// administrator's back.
Status PrimaryRvg::CheckResyncable(size_t rlink) const {
  if (options_.dcm == nullptr) return Status::Error("no DCM to resync from");
  const RlinkState state = rlinks_->state(rlink);
  const std::string& name = rlinks_->name(rlink);
  if (state == RlinkState::kStale) {
    return Status::Error("RLINK " + name + " is stale: use rvgadm startrep --full");
  }
  if (state == RlinkState::kPaused) {
    return Status::Error("RLINK " + name + " is paused: rvgadm resumerep it first");
  }
  return Status::Ok();
}

Status PrimaryRvg::ResyncFull(size_t rlink) {
  Status st = CheckResyncable(rlink);
  if (!st.ok()) return st;
  return MarkAllAndTrack(rlink);
}

Result<bool> PrimaryRvg::ResyncDirty(size_t rlink) {
  Status st = CheckResyncable(rlink);
  if (!st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  const RlinkState state = rlinks_->state(rlink);
  // Already owed regions: its sender resyncs them as soon as it can.
  if (state == RlinkState::kDcm || state == RlinkState::kResyncing) return true;
  if (options_.dcm->dirty_regions(rlink) == 0) return false;
  // Regions left dirty outside DCM (a resync whose last clears were not
  // persisted, say): the ordinary way into DCM, which also marks the
  // records the RLINK still needs from the SRL.
  EnterDcmLocked(rlink, "rvgadm resync");
  if (!rlinks_->Tracking(rlink)) {
    return Status::Error("RLINK " + rlinks_->name(rlink) + " is " +
                         RlinkStateName(rlinks_->state(rlink)) + "; it cannot resync now");
  }
  return true;
}

Status PrimaryRvg::ReadForResync(uint32_t volume, uint64_t offset, void* buf, size_t length) {
  Status st = Read(volume, offset, buf, length);
  if (!st.ok()) return st;
  // The read saw at most what was written before it returned; all of that
  // must be durable before it leaves this host.
  std::unique_lock<std::mutex> lock(mu_);
  return WaitSynced(lock, written_seq_);
}

// Unapplied writes first, the image second (Read()'s order): a write that
// leaves unapplied_ between the two is on the image by then, and shows as
// data.
bool PrimaryRvg::RangeIsHole(uint32_t volume, uint64_t offset, uint64_t length) const {
  if (unapplied_.AnyOverlapping(volume, offset, length)) return false;
  return volumes_->IsHole(volume, offset, length);
}

}  // namespace rvg
