// RlinkReceiver's part of range checks (checksum resync and verify):
// COMPAREs in, COMPAREDs out. See rlink_receiver.h and doc/resync.md.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "core/range_check.h"
#include "net/rlink_receiver.h"

namespace rvg {

using Clock = std::chrono::steady_clock;

void RlinkReceiver::OnCompare(const PeerId& peer, const CompareMsg& m) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!gate_.Admit(peer, m.session_id, Clock::now())) {
      Drop(RejectReason::kSession, "COMPARE outside the current session");
      return;
    }
  }
  auto volume = std::find_if(config_.volumes.begin(), config_.volumes.end(),
                             [&m](const VolumeSpec& v) { return v.id == m.volume; });
  if (volume == config_.volumes.end() || m.offset > volume->size ||
      m.length > volume->size - m.offset) {
    Drop(RejectReason::kInvalid,
         fmt::format("COMPARE {}: {} bytes at offset {} of volume {} are not in a volume", m.number,
                     m.length, m.offset, m.volume));
    return;
  }
  RangeCheck check;
  check.verify = m.kind == CompareKind::kVerify;
  check.number = m.number;
  check.volume = m.volume;
  check.offset = m.offset;
  check.length = m.length;
  check.hash = RegionHash{m.hash_high, m.hash_low};
  check.after_seq = m.after_seq;
  if (!check.verify) {
    // Numbered among the resync's regions, like a REGION.
    if (!resync_open_ || m.number != next_region_) {
      ResyncViolation(peer, m.session_id,
                      resync_open_ ? "COMPARE " + std::to_string(m.number) + " where " +
                                         std::to_string(next_region_) + " was due"
                                   : "resync COMPARE outside a resync");
      return;
    }
    ++next_region_;
  }
  if (!applier_->OfferCheck(check)) {
    ResyncViolation(peer, m.session_id, "more comparisons arrived than this secondary holds");
  }
}

// In as few COMPARED messages as the number limit allows: the ROUTER drops
// replies when its queue is full, and a few messages fit where thousands
// would not.
void RlinkReceiver::SendCheckResults(const Session& s, const std::vector<RangeCheckResult>& results) {
  for (const CompareKind kind : {CompareKind::kResync, CompareKind::kVerify}) {
    ComparedMsg c{s.id, kind, 0, {}, {}};
    auto flush = [&] {
      if (c.same.empty() && c.differ.empty()) return;
      Reply(s.peer.connection, Encode(c));
      c.same.clear();
      c.differ.clear();
    };
    for (const RangeCheckResult& r : results) {
      if (r.verify != (kind == CompareKind::kVerify)) continue;
      c.seq = std::max(c.seq, r.seq);
      (r.same ? c.same : c.differ).push_back(r.number);
      if (c.same.size() + c.differ.size() == kMaxComparedNumbers) flush();
    }
    flush();
  }
}

}  // namespace rvg
