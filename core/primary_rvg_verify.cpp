// PrimaryRvg's part of online verify: reads that know which seq they show,
// and watches that say whether a later write touched the range since.
#include "core/primary_rvg.h"

namespace rvg {

// The seq is taken, and the watch set, under mu_, where records become
// written (PublishAppendedLocked adds them to unapplied_ and trips the
// watches under it). Every record up to that seq is therefore either
// still in unapplied_ when Read() snapshots it, or already on the image
// Read() reads after; a record after it may show in the bytes too, but
// then it overlaps the range and trips the watch.
Result<uint64_t> PrimaryRvg::ReadForVerify(uint32_t volume, uint64_t offset, void* buf,
                                           size_t length, uint64_t* watch) {
  uint64_t seq;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seq = written_seq_;
    *watch = next_watch_++;
    watches_.push_back({*watch, volume, offset, length, false});
  }
  Status st = Read(volume, offset, buf, length);
  if (!st.ok()) {
    EndWatch(*watch);
    return st;
  }
  return seq;
}

bool PrimaryRvg::EndWatch(uint64_t watch) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < watches_.size(); ++i) {
    if (watches_[i].id == watch) {
      const bool tripped = watches_[i].tripped;
      watches_.erase(watches_.begin() + static_cast<std::ptrdiff_t>(i));
      return tripped;
    }
  }
  return true;  // unknown: assume the worst, the caller checks again
}

void PrimaryRvg::TripWatchesLocked(const WriteRecord& r) {
  for (RangeWatch& w : watches_) {
    if (w.volume == r.volume && r.offset < w.offset + w.length && w.offset < r.offset + r.length) {
      w.tripped = true;
    }
  }
}

}  // namespace rvg
