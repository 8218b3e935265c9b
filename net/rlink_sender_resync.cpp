// RlinkSender: a bitmap resync of the RLINK (doc/resync.md) — the regions
// its DCM owes streamed by the RegionStreamer, the RESYNC end once every
// one is acknowledged — and the figures status shows of it.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "net/rlink_sender.h"
#include "net/zmq_util.h"

namespace rvg {

namespace { using Clock = std::chrono::steady_clock; }  // namespace

std::optional<ResyncProgress> RlinkSender::resync_progress(Clock::time_point now) const {
  std::lock_guard<std::mutex> lock(error_mu_);
  if (!resync_progress_) return std::nullopt;
  ResyncProgress p;
  p.done = resync_progress_->first;
  p.total = resync_progress_->second;
  p.rate = resync_rate_.Rate(now);
  p.eta_s = RateMeter::Eta(p.total - std::min(p.done, p.total), p.rate);
  return p;
}

ResyncCounters RlinkSender::resync_counters() const {
  ResyncCounters c;
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    c = resync_counters_;
  }
  c.verify_bytes_sent = verifier_->bytes_sent();
  return c;
}

// The meter samples the bytes acknowledged at every turn of the loop
// (RateMeter keeps that bounded); a new resync starts it over.
void RlinkSender::PublishResync() {
  std::lock_guard<std::mutex> lock(error_mu_);
  resync_counters_ = streamer_->counters();
  if (!streamer_->active()) {
    resync_progress_.reset();
    resync_rate_.Reset();
    return;
  }
  const std::pair<uint64_t, uint64_t> now_at{streamer_->bytes_done(), streamer_->bytes_total()};
  if (!resync_progress_ || now_at.second != resync_progress_->second) resync_rate_.Reset();
  resync_progress_ = now_at;
  resync_rate_.Record(now_at.first, Clock::now());
}

// The RLINK is owed regions: begin a resync once nothing holds it back
// (the engine still marking records, a pause), then keep the window of
// regions full, and send RESYNC end once every region is acknowledged.
void RlinkSender::PumpResync() {
  if (!streamer_->active()) {
    if (rlinks_->state(index_) == RlinkState::kPaused) return;
    Result<uint64_t> seq = engine_->BeginResync(index_);
    if (!seq.ok()) {
      if (seq.status().code() != EAGAIN) SetError("cannot begin the resync: " + seq.status().message());
      return;
    }
    if (!SendMessage(*socket_, {}, Encode(ResyncMsg{session_id_, true, *seq, 0}), nullptr)) {
      CloseSession("the socket refused RESYNC begin");
      return;
    }
    streamer_->Begin(session_id_, *seq, checksum_resync_.load());
  }
  // The engine ended this resync (the SRL overflowed again and the RLINK
  // went back to its bitmap, or stoprep): never send its end. A new
  // session starts a new resync from what is still dirty.
  const std::optional<uint64_t> resyncing = rlinks_->ResyncSeq(index_);
  if (!resyncing || *resyncing != streamer_->resync_seq()) {
    SetError("the resync was overtaken (SRL overflow, stoprep or resync --full); starting over");
    CloseSession("resync overtaken");
    return;
  }
  if (rlinks_->state(index_) == RlinkState::kPaused) return;  // no regions while paused
  if (!resync_end_sent_) {
    auto throttled = [this] {
      const Clock::duration delay = TrafficDelay();
      if (delay <= Clock::duration::zero()) return false;
      throttled_until_ = Clock::now() + delay;  // the poll wakes when it is paid
      return true;
    };
    auto charge = [this](uint64_t bytes) { ChargeTraffic(bytes); };
    switch (streamer_->Pump(*socket_, config_.rvg_uuid, session_generation_, throttled, charge)) {
      case RegionStreamer::Step::kBlocked:
        Blocked();
        break;
      case RegionStreamer::Step::kFailed:
        errors_.Count(LinkError::kResyncRead);
        SetError(streamer_->error() + "; the resync starts again");
        CloseSession("resync read failed");
        return;
      case RegionStreamer::Step::kDone:
        if (resync_end_number_ == 0) resync_end_number_ = streamer_->TakeNumber();
        if (SendMessage(*socket_, {},
                        Encode(ResyncMsg{session_id_, false, streamer_->resync_seq(),
                                         resync_end_number_}),
                        nullptr)) {
          resync_end_sent_ = true;
        } else {
          Blocked();
        }
        break;
      case RegionStreamer::Step::kWindowFull:
      case RegionStreamer::Step::kThrottled:
        break;
    }
  }
  PublishResync();
}

// The secondary applied RESYNC end: it holds the history up to the resync
// seq, and ordered replication goes on from there.
void RlinkSender::EndResync() {
  const uint64_t seq = streamer_->resync_seq();
  progress_.sent_seq = seq;
  ack_timer_.Resume(seq);  // the resync, not records, brought it here
  next_send_ = seq + 1;
  rlinks_->ResyncDone(index_, seq);
  if (streamer_->compares()) {
    checksum_resync_ = false;
    if (config_.compare_done) config_.compare_done();
  }
  spdlog::info("rlink {}: bitmap resync complete ({} bytes); replicating from seq {}",
               config_.rlink_name, streamer_->bytes_done(), seq + 1);
  streamer_->Finish();
  resync_end_sent_ = false;
  // The secondary has adopted the session's history with the resync end:
  // it has seen our generation now (the rotation at a session loss counts
  // on that), though its WELCOME named the line it came from.
  if (failback_resync_ && config_.peer_accepted) config_.peer_accepted(session_generation_);
  if (failback_resync_ && config_.failback_done) config_.failback_done();
  failback_resync_ = false;
  resync_end_number_ = 0;
  PublishResync();
}

}  // namespace rvg
