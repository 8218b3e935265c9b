// PrimaryRvg's part in failover (doc/failover.md): fencing writes off, and
// reading back what this host wrote past a seq. Apart from primary_rvg.cpp
// to keep each file readable.
#include "core/primary_rvg.h"

namespace rvg {

void PrimaryRvg::Fence(const Status& why) {
  std::lock_guard<std::mutex> lock(fence_mu_);
  fence_ = why.ok() ? Status::Error("writes are fenced off", EROFS) : why;
  fenced_ = true;
}

void PrimaryRvg::Unfence() {
  std::lock_guard<std::mutex> lock(fence_mu_);
  fenced_ = false;
  fence_ = Status::Ok();
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
