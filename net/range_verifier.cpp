#include "net/range_verifier.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/region_hash.h"
#include "net/messages.h"
#include "net/zmq_util.h"

namespace rvg {

namespace {
// Pieces sent and not yet answered: enough to keep the secondary's disk
// and the link busy, far below what it queues (max_pending_verifies).
constexpr size_t kWindow = 128;
// A piece written while it was compared waits this long times its
// attempts before the next try, so that a burst of writes can pass.
constexpr auto kRecheckDelay = std::chrono::milliseconds(20);
// A secondary that answers nothing for this long has lost answers.
constexpr auto kAnswerTimeout = std::chrono::seconds(30);
}  // namespace

RangeVerifier::RangeVerifier(PrimaryRvg* engine, DcmTracker* dcm, size_t rlink,
                             std::string rlink_name, std::vector<VolumeSpec> volumes,
                             uint64_t piece_bytes)
    : engine_(engine),
      dcm_(dcm),
      rlink_(rlink),
      name_(std::move(rlink_name)),
      volumes_(std::move(volumes)),
      piece_bytes_(std::clamp<uint64_t>(piece_bytes, 4096, kMaxWriteBytes)) {}

RangeVerifier::~RangeVerifier() {
  std::lock_guard<std::mutex> lock(mu_);
  EndWatches();
}

uint64_t RangeVerifier::Start(std::string* why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (start_wanted_ || report_.state == VerifyReport::State::kRunning) {
    *why = "a verify of this RLINK is already running";
    return 0;
  }
  start_wanted_ = true;
  return next_run_;
}

VerifyReport RangeVerifier::report() const {
  std::lock_guard<std::mutex> lock(mu_);
  return report_;
}

uint64_t RangeVerifier::bytes_sent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_sent_;
}

bool RangeVerifier::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return start_wanted_ || report_.state == VerifyReport::State::kRunning;
}

void RangeVerifier::Abort(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (start_wanted_) {
    start_wanted_ = false;
    report_ = VerifyReport{};
    report_.run = next_run_++;
  } else if (report_.state != VerifyReport::State::kRunning) {
    return;
  }
  EndWatches();
  report_.state = VerifyReport::State::kFailed;
  report_.error = why;
  spdlog::warn("rlink {}: verify {} failed: {}", name_, report_.run, why);
}

bool RangeVerifier::Pump(zmq::socket_t& socket, uint64_t session_id,
                         uint64_t secondary_applied) {
  std::lock_guard<std::mutex> lock(mu_);
  if (start_wanted_) {
    start_wanted_ = false;
    report_ = VerifyReport{};
    report_.run = next_run_++;
    report_.state = VerifyReport::State::kRunning;
    for (const VolumeSpec& v : volumes_) report_.bytes_total += v.size;
    volume_index_ = 0;
    offset_ = 0;
    rechecks_.clear();
    session_id_ = session_id;
    spdlog::info("rlink {}: verify {} begins: {} bytes", name_, report_.run, report_.bytes_total);
  }
  if (report_.state != VerifyReport::State::kRunning) return true;
  const auto now = std::chrono::steady_clock::now();
  // No answer is due while the secondary has not reached the oldest
  // check's seq (it lags, or reads back from the primary's SRL).
  if (pending_.empty() || secondary_applied < pending_.front().after_seq) last_answer_ = now;
  if (now - last_answer_ > kAnswerTimeout) {
    // COMPAREDs can be lost (the secondary's full send queue drops them).
    EndWatches();
    report_.state = VerifyReport::State::kFailed;
    report_.error = "the secondary, though caught up, left comparisons unanswered for 30 s "
                    "(answers lost); run verify again";
    return true;
  }
  while (pending_.size() < kWindow) {
    Piece piece;
    if (!NextPiece(&piece)) break;
    buffer_.resize(piece.length);
    uint64_t watch = 0;
    Result<uint64_t> seq =
        engine_->ReadForVerify(piece.volume, piece.offset, buffer_.data(), piece.length, &watch);
    if (!seq.ok()) {
      EndWatches();
      report_.state = VerifyReport::State::kFailed;
      report_.error = "reading the primary's image: " + seq.status().message();
      return true;
    }
    const RegionHash hash = HashRegion(buffer_.data(), piece.length);
    CompareMsg m{session_id_,  CompareKind::kVerify, next_number_, piece.volume, piece.offset,
                 piece.length, hash.high,            hash.low,     *seq};
    const std::string header = Encode(m);
    if (!SendMessage(socket, {}, header, nullptr)) {
      engine_->EndWatch(watch);
      rechecks_.push_front(piece);  // not tried: no attempt counted
      return false;
    }
    bytes_sent_ += header.size();
    pending_.push_back({next_number_++, piece, watch, *seq});
  }
  FinishIfDone();
  return true;
}

// Rechecks that are due first, then the walk.
bool RangeVerifier::NextPiece(Piece* piece) {
  const auto now = std::chrono::steady_clock::now();
  if (!rechecks_.empty() && rechecks_.front().not_before <= now) {
    *piece = rechecks_.front();
    rechecks_.pop_front();
    return true;
  }
  while (volume_index_ < volumes_.size() && offset_ >= volumes_[volume_index_].size) {
    ++volume_index_;
    offset_ = 0;
  }
  if (volume_index_ == volumes_.size()) return false;
  const VolumeSpec& v = volumes_[volume_index_];
  piece->volume = v.id;
  piece->offset = offset_;
  piece->length = static_cast<uint32_t>(std::min(piece_bytes_, v.size - offset_));
  offset_ += piece->length;
  return true;
}

void RangeVerifier::Compared(uint64_t number, bool same, uint64_t /*seq*/) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [number](const Pending& p) { return p.number == number; });
  if (it == pending_.end()) return;  // a stale answer (a run that ended)
  last_answer_ = std::chrono::steady_clock::now();
  Piece piece = it->piece;
  const bool written = engine_->EndWatch(it->watch);
  pending_.erase(it);
  if (same) {
    report_.bytes_done += piece.length;
  } else if (!written) {
    AddDifference(piece);
    report_.bytes_done += piece.length;
  } else if (++piece.attempts >= kMaxAttempts) {
    report_.unverified_bytes += piece.length;
    report_.bytes_done += piece.length;
  } else {
    ++report_.rechecks;
    piece.not_before = std::chrono::steady_clock::now() + kRecheckDelay * piece.attempts;
    rechecks_.push_back(piece);
  }
  FinishIfDone();
}

void RangeVerifier::AddDifference(const Piece& piece) {
  report_.differing_bytes += piece.length;
  std::vector<VolumeExtent>& d = report_.differences;
  if (!d.empty() && d.back().volume == piece.volume &&
      d.back().offset + d.back().length == piece.offset) {
    d.back().length += piece.length;
  } else if (d.size() < kMaxReported) {
    d.push_back({piece.volume, piece.offset, piece.length});
  }
  if (dcm_ != nullptr) {
    Status st = dcm_->Mark(rlink_, VolumeExtent{piece.volume, piece.offset, piece.length});
    if (!st.ok()) {
      spdlog::warn("rlink {}: verify could not mark a differing region for resync: {}", name_,
                   st.message());
    }
  }
}

void RangeVerifier::EndWatches() {
  for (const Pending& p : pending_) engine_->EndWatch(p.watch);
  pending_.clear();
  rechecks_.clear();
}

void RangeVerifier::FinishIfDone() {
  if (report_.state != VerifyReport::State::kRunning || !pending_.empty() ||
      !rechecks_.empty() || volume_index_ < volumes_.size()) {
    return;
  }
  report_.state = VerifyReport::State::kDone;
  spdlog::info("rlink {}: verify {} done: {} bytes differ, {} unverified (written throughout), "
               "{} rechecks",
               name_, report_.run, report_.differing_bytes, report_.unverified_bytes,
               report_.rechecks);
}

}  // namespace rvg
