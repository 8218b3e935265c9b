// RlinkSender's half of doc/failover.md: what the histories in a refusal
// say, and the primary's side of a fast failback — the secondary (an old
// primary that stepped down) reports in DIRTY messages the ranges it wrote
// past the fork, they join this RLINK's DCM (which already tracks what
// this primary wrote since), and the WELCOME with the fork starts the
// bitmap resync that makes the secondary an exact copy again.
#include <spdlog/spdlog.h>

#include "core/failback_bitmap.h"
#include "net/rlink_sender.h"

namespace rvg {

bool RlinkSender::GenerationChanged() {
  if (config_.line->version() == session_line_version_) return false;
  const std::string now = config_.line->current();
  spdlog::info("rlink {}: this primary began generation {}: a new session announces it",
               config_.rlink_name, now.substr(0, 8));
  CloseSession("new generation " + now.substr(0, 8));
  return true;
}

// A refusal that carries the peer's history: log what the two histories
// say, and when the peer is a primary of a line newer than ours, this host
// has been replaced (doc/failover.md).
bool RlinkSender::OnHistoryRefusal(const RejectMsg& r) {
  if (config_.line->version() != session_line_version_) {
    // It answered a HELLO with a history we have since extended: judged
    // with our seqs of now it could look like a rollback. Ask again.
    SetError("the peer refused an older HELLO; asking again with the new generation");
    return true;
  }
  const HistoryComparison c =
      CompareHistories(session_history_, engine_->last_seq(), r.history, r.last_seq);
  spdlog::warn("rlink {}: sync direction: {} refused us{}: {} (doc/failover.md row {})",
               config_.rlink_name, config_.address, r.primary ? " as a primary itself" : "",
               c.reason, c.row);
  if (c.verdict == HistoryVerdict::kDiverged) {
    const std::string what = "ours " + session_history_.back().uuid.substr(0, 8) + ", theirs " +
                             r.history.back().uuid.substr(0, 8) + " after " +
                             c.common.substr(0, 8);
    {
      std::lock_guard<std::mutex> lock(error_mu_);
      split_brain_ = what;
    }
    Fail("split brain with " + config_.address + " (" + c.reason + "): nothing is replicated "
         "either way; on the host whose writes since the split are to be thrown away, run "
         "rvgadm resolve " + config_.rvg_name + " --discard-local");
    retry_after_ = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    if (config_.split_brain) config_.split_brain(c, r.history);
    return true;
  }
  if (r.primary && c.verdict == HistoryVerdict::kLocalBehind && config_.replaced) {
    if (config_.insecure) {
      // Anyone can answer on an unauthenticated link: a forged history
      // must not make this primary give its data up.
      spdlog::error("rlink {}: the peer claims to be primary of a newer line, but the RLINK is "
                    "--insecure, so it is not believed: check {} and, if it is true, stop this "
                    "primary", config_.rlink_name, config_.address);
      return false;
    }
    config_.replaced(c, r.reason);
  }
  if (c.verdict == HistoryVerdict::kLocalAhead && c.rollback && c.fork_seq > 0 && !r.primary &&
      r.retry && config_.source_report) {
    // Row 8 refused: the secondary holds seqs of the line we replaced and
    // cannot list them (three hosts).
    StartSourceWait(c.fork_seq, c.common);
    return true;
  }
  return false;
}

// Before the WELCOME of the session they belong to (HandleMessage checks
// that). A range outside the volumes is a peer's bug or a forgery: the
// session is refused rather than trusted for part of what it reported.
void RlinkSender::OnDirty(const DirtyMsg& d) {
  if (dcm_ == nullptr) {
    SetError("the secondary asks for a fast failback, but this RLINK keeps no bitmap");
    CloseSession("failback without a DCM");
    return;
  }
  std::vector<VolumeExtent> extents;
  for (const DirtyExtent& e : d.extents) {
    const VolumeSpec* volume = nullptr;
    for (const VolumeSpec& v : config_.volumes) {
      if (v.id == e.volume) volume = &v;
    }
    if (volume == nullptr || e.length == 0 || e.offset > volume->size ||
        e.length > volume->size - e.offset) {
      SetError("the secondary reported a failback range outside the volumes (volume " +
               std::to_string(e.volume) + ", offset " + std::to_string(e.offset) + ", length " +
               std::to_string(e.length) + "); refusing the session");
      CloseSession("bad DIRTY range");
      return;
    }
    extents.push_back({e.volume, e.offset, e.length});
  }
  if (config_.previous_source) KeepForSourceReport(extents);
  Status st = dcm_->MarkExtents(index_, extents);
  if (!st.ok()) {
    SetError("cannot record the secondary's failback ranges in the DCM: " + st.message());
    CloseSession("DCM write failed");
    return;
  }
  last_heard_ = std::chrono::steady_clock::now();
}

// A legitimate report is at most the receiver's coarsened one; a peer that
// sends more only widens it to every region.
void RlinkSender::KeepForSourceReport(const std::vector<VolumeExtent>& extents) {
  std::lock_guard<std::mutex> lock(error_mu_);
  if (dirty_session_ != session_id_) {
    dirty_session_ = session_id_;
    dirty_report_.clear();
  }
  if (dirty_report_.size() + extents.size() > kMaxSourceReportExtents) {
    dirty_report_ = WholeVolumes(config_.volumes);
    return;
  }
  dirty_report_.insert(dirty_report_.end(), extents.begin(), extents.end());
}

bool RlinkSender::AcceptFailback(const WelcomeMsg& w) {
  const uint64_t last = engine_->last_seq();
  const HistoryComparison c = CompareHistories(session_history_, last, w.history, w.applied_seq);
  auto refuse = [&](const std::string& why) {
    SetError("the secondary's fast failback is refused: " + why);
    CloseSession("failback refused");
    return false;
  };
  // The secondary must be behind our line, across a generation change,
  // and roll back from at most where our own history says the lines part
  // (earlier when it holds writes of its own there: resolve).
  if (c.verdict != HistoryVerdict::kLocalAhead || c.fork_seq == 0 || w.fork_seq == 0 ||
      w.fork_seq > c.fork_seq || w.fork_seq > last + 1) {
    return refuse("its history does not fork from ours at seq " + std::to_string(w.fork_seq) +
                  " (" + c.reason + ")");
  }
  if (dcm_ == nullptr) return refuse("this RLINK keeps no bitmap");
  Status st;
  std::string how = "the regions either side wrote since the fork";
  if (rlinks_->state(index_) == RlinkState::kStale) {
    // Nothing tracked what this primary sent it: every region.
    st = engine_->StartFullSync(index_);
    how = "every region (the RLINK was stale, so nothing tracked what it lacks)";
  } else if (!rlinks_->Tracking(index_) && !rlinks_->ResyncSeq(index_)) {
    // Nothing tracked this RLINK in its bitmap (it was not in DCM: a split
    // brain, not a takeover): what this primary wrote past the last seq
    // the secondary acknowledged is in the SRL — or, when the SRL no
    // longer reaches back that far, anywhere.
    // A secondary that never acknowledged anything to this host (a third
    // host, after a takeover) holds our line up to the fork by the
    // histories.
    const uint64_t acked = progress_.data_acked_seq.load();
    const uint64_t from = acked == 0 ? w.fork_seq : std::min(acked + 1, w.fork_seq);
    Result<std::vector<VolumeExtent>> ours = engine_->ExtentsSince(from);
    if (ours.ok()) {
      st = dcm_->MarkExtents(index_, *ours);
    } else {
      spdlog::warn("rlink {}: the SRL no longer holds seq {} ({}): every region is resynced",
                   config_.rlink_name, from, ours.status().message());
      st = engine_->ResyncFull(index_);
      how = "every region (the SRL no longer holds what the secondary lacks of this line)";
    }
  }
  if (st.ok() && !rlinks_->Tracking(index_) && !rlinks_->ResyncSeq(index_)) {
    Result<bool> owed = engine_->ResyncDirty(index_);
    st = owed.status();
    if (owed.ok() && !*owed) {
      // It holds seqs past the fork but reported no range: the bitmaps
      // cannot tell what differs.
      st = engine_->ResyncFull(index_);
      how = "every region (neither bitmap says what differs)";
    }
  }
  if (!st.ok()) return refuse(st.message());
  failback_resync_ = true;
  if (config_.previous_source && config_.source_report) {
    // What the previous source wrote past the fork: a third host waiting
    // for it rolls back by these ranges (rlink_sender_source_wait.cpp).
    // No report of this session: it could not tell, so every region.
    std::vector<VolumeExtent> report;
    {
      std::lock_guard<std::mutex> lock(error_mu_);
      if (dirty_session_ == session_id_) report.swap(dirty_report_);
    }
    if (report.empty()) report = WholeVolumes(config_.volumes);
    spdlog::info("rlink {}: the previous source's report ({} ranges from seq {}) is kept for "
                 "the other secondaries", config_.rlink_name, report.size(), w.fork_seq);
    config_.source_report->Publish({config_.rlink_name, c.common, w.fork_seq, std::move(report)});
  }
  spdlog::warn("rlink {}: sync direction: fast failback of {}: it holds seqs {}..{} of a line "
               "generation {} replaced; resyncing {} ({} bytes dirty now)",
               config_.rlink_name, config_.address, w.fork_seq, w.applied_seq,
               session_generation_.substr(0, 8), how, dcm_->dirty_bytes(index_));
  return true;
}

std::string RlinkSender::split_brain() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return split_brain_;
}

}  // namespace rvg
