// RlinkSender: waiting for the previous source (doc/failover.md, "Three
// hosts"). After a takeover, a secondary that holds seqs of the replaced
// line past the fork, and whose SRL no longer lists what they wrote,
// cannot say which regions to roll back. The host those seqs came from —
// the previous source, the old primary — can: its failback report covers
// everything it wrote past the fork. So this RLINK holds its HELLOs
// (probing every few seconds, in case the secondary can list them after
// all) until one of:
//   - the report is published (SourceReport): its ranges join this RLINK's
//     bitmap, and the HELLO says the bitmap covers the line from its fork;
//   - rvgadm resync --full made the bitmap whole (before the wait, too);
//   - the RLINK's source_wait passed: every region is marked, as resync --full.
// Then the secondary rolls back with the bitmap alone: a fast failback
// whose ranges come from this side.
#include <spdlog/spdlog.h>

#include "net/rlink_sender.h"

namespace rvg {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kSourceWaitProbe{5};

}  // namespace

std::chrono::steady_clock::duration RlinkSender::SourceWaitLimit() const {
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(source_wait_s_.load()));
}

void RlinkSender::StartSourceWait(uint64_t fork_seq, const std::string& line) {
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(error_mu_);
  if (!source_wait_ || source_wait_->fork_seq != fork_seq || source_wait_->line != line) {
    source_wait_ = SourceWait{fork_seq, line, false, now, now + kSourceWaitProbe};
    spdlog::warn("rlink {}: sync direction: the secondary holds seqs from {} on of the line this "
                 "primary replaced and cannot list what they wrote: waiting up to {:g} s for the "
                 "previous source to report it (rvgadm resync {} {} --full ends the wait)",
                 config_.rlink_name, fork_seq, source_wait_s_.load(), config_.rvg_name,
                 config_.rlink_name);
  } else {
    source_wait_->next_probe = now + kSourceWaitProbe;
  }
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(
      source_wait_->since + SourceWaitLimit() - now);
  last_error_ = "waiting for previous source: the secondary must roll back seqs from " +
                std::to_string(fork_seq) + " on that only the previous source can list; a full "
                "resync follows in " + std::to_string(std::max<int64_t>(0, left.count())) +
                " s (rvgadm resync " + config_.rvg_name + " " + config_.rlink_name +
                " --full ends the wait now)";
}

bool RlinkSender::BitmapWhole() const {
  uint64_t total = 0;
  for (const VolumeSpec& v : config_.volumes) total += v.size;
  return dcm_ != nullptr && dcm_->dirty_bytes(index_) >= total;
}

bool RlinkSender::SourceWaitHolds() {
  std::optional<SourceWait> wait;
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    wait = source_wait_;
  }
  if (!wait) return false;
  const auto now = Clock::now();
  std::string how;
  Status st;
  std::optional<SourceReportEntry> report;
  if (config_.source_report) report = config_.source_report->Covering(wait->line, wait->fork_seq);
  if (wait->full_asked || BitmapWhole()) {
    // resync --full, now or before the wait began: every region is marked.
    how = "rvgadm resync --full";
    covered_from_ = 1;
  } else if (report && dcm_ != nullptr) {
    st = dcm_->MarkExtents(index_, report->extents);
    covered_from_ = report->fork_seq;
    how = "the report of the previous source " + report->source + " (its writes from seq " +
          std::to_string(report->fork_seq) + " on)";
  } else if (now - wait->since >= SourceWaitLimit()) {
    st = engine_->ResyncFull(index_);
    covered_from_ = 1;
    how = fmt::format("the timeout ({:g} s): every region is resynced", source_wait_s_.load());
  } else {
    if (now < wait->next_probe) return true;
    std::lock_guard<std::mutex> lock(error_mu_);
    if (source_wait_) source_wait_->next_probe = now + kSourceWaitProbe;
    return false;  // a HELLO: the secondary may be able to list them now
  }
  std::lock_guard<std::mutex> lock(error_mu_);
  source_wait_.reset();
  if (!st.ok()) {
    covered_from_ = 0;
    last_error_ = "waiting for previous source ended by " + how + ", but the bitmap could not "
                  "be marked: " + st.message();
    spdlog::error("rlink {}: {}", config_.rlink_name, last_error_);
    return false;
  }
  last_error_.clear();
  spdlog::warn("rlink {}: sync direction: the wait for the previous source ended by {}; the "
               "secondary rolls back from seq {} with this primary's bitmap",
               config_.rlink_name, how, wait->fork_seq);
  return false;
}

void RlinkSender::EndSourceWait() {
  std::lock_guard<std::mutex> lock(error_mu_);
  if (!source_wait_) return;  // SourceWaitHolds finds the whole bitmap anyway
  source_wait_->full_asked = true;
  source_wait_->next_probe = Clock::now();
  wakeup_->Signal();
}

void RlinkSender::SessionWelcomed() {
  std::lock_guard<std::mutex> lock(error_mu_);
  split_brain_.clear();
  source_wait_.reset();
  covered_from_ = 0;
  dirty_report_.clear();
}

std::optional<RlinkSender::SourceWaitStatus> RlinkSender::source_waiting() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  if (!source_wait_) return std::nullopt;
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(
      source_wait_->since + SourceWaitLimit() - Clock::now());
  return SourceWaitStatus{source_wait_->fork_seq, std::max<int64_t>(0, left.count())};
}

}  // namespace rvg
