#include "core/dcm_tracker.h"

#include <algorithm>

namespace rvg {

DcmTracker::DcmTracker(const std::vector<std::string>& rlinks,
                       const std::vector<VolumeSpec>& volumes, uint64_t region_size,
                       BitmapStore* store)
    : names_(rlinks), region_size_(region_size), store_(store) {
  maps_.reserve(rlinks.size());
  unpersisted_.resize(rlinks.size());
  mark_generation_.resize(rlinks.size(), 0);
  for (size_t i = 0; i < rlinks.size(); ++i) maps_.emplace_back(volumes, region_size);
}

Status DcmTracker::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < names_.size(); ++i) {
    Result<std::vector<BitmapChunk>> chunks = store_->LoadBitmap(names_[i]);
    if (!chunks.ok()) return chunks.status().Annotate("loading the DCM of RLINK " + names_[i]);
    for (const BitmapChunk& chunk : *chunks) {
      Status st = maps_[i].Load(chunk);
      if (!st.ok()) return st.Annotate("the DCM of RLINK " + names_[i]);
    }
  }
  return Status::Ok();
}

// Chunks whose save failed stay owed: the bits are set in memory, so a
// later call would find nothing changed and answer a write whose region is
// not durably dirty. Every call saves them again until one succeeds.
void DcmTracker::OweLocked(size_t rlink, const std::vector<ChunkRef>& changed) {
  std::vector<ChunkRef>& owed = unpersisted_[rlink];
  for (const ChunkRef& c : changed) {
    if (std::find(owed.begin(), owed.end(), c) == owed.end()) owed.push_back(c);
  }
}

Status DcmTracker::PersistLocked(size_t rlink, const std::vector<ChunkRef>& changed) {
  OweLocked(rlink, changed);
  std::vector<ChunkRef>& owed = unpersisted_[rlink];
  if (owed.empty()) return Status::Ok();
  std::vector<BitmapChunk> chunks;
  chunks.reserve(owed.size());
  for (const ChunkRef& c : owed) chunks.push_back(maps_[rlink].Chunk(c));
  Status st = store_->SaveBitmapChunks(names_[rlink], chunks);
  if (!st.ok()) return st.Annotate("persisting the DCM of RLINK " + names_[rlink]);
  owed.clear();
  return st;
}

Status DcmTracker::Mark(size_t rlink, const VolumeExtent& extent) {
  std::lock_guard<std::mutex> lock(mu_);
  ++mark_generation_[rlink];
  std::vector<ChunkRef> changed;
  maps_[rlink].Mark(extent.volume, extent.offset, extent.length, &changed);
  return PersistLocked(rlink, changed);
}

Status DcmTracker::MarkExtents(size_t rlink, const std::vector<VolumeExtent>& extents) {
  std::lock_guard<std::mutex> lock(mu_);
  ++mark_generation_[rlink];
  std::vector<ChunkRef> changed;
  for (const VolumeExtent& e : extents) maps_[rlink].Mark(e.volume, e.offset, e.length, &changed);
  return PersistLocked(rlink, changed);
}

Status DcmTracker::MarkAll(size_t rlink) {
  std::lock_guard<std::mutex> lock(mu_);
  ++mark_generation_[rlink];
  std::vector<ChunkRef> changed;
  maps_[rlink].MarkAll(&changed);
  return PersistLocked(rlink, changed);
}

Status DcmTracker::ClearAll(size_t rlink) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ChunkRef> changed;
  maps_[rlink].ClearAll(&changed);
  return PersistLocked(rlink, changed);
}

std::optional<std::pair<RegionRef, VolumeExtent>> DcmTracker::NextDirty(size_t rlink,
                                                                  RegionRef from) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<RegionRef> region = maps_[rlink].NextDirty(from);
  if (!region) return std::nullopt;
  auto [offset, length] = maps_[rlink].Extent(*region);
  return std::make_pair(*region, VolumeExtent{region->volume, offset, length});
}

Status DcmTracker::Clear(size_t rlink, const std::vector<RegionRef>& regions) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ChunkRef> changed;
  for (const RegionRef& r : regions) maps_[rlink].Clear(r, &changed);
  return PersistLocked(rlink, changed);
}

uint64_t DcmTracker::mark_generation(size_t rlink) const {
  std::lock_guard<std::mutex> lock(mu_);
  return mark_generation_[rlink];
}

Result<bool> DcmTracker::ClearIfUnmarked(size_t rlink, const std::vector<RegionRef>& regions,
                                         uint64_t generation, bool persist) {
  std::lock_guard<std::mutex> lock(mu_);
  if (mark_generation_[rlink] != generation) return false;
  std::vector<ChunkRef> changed;
  for (const RegionRef& r : regions) maps_[rlink].Clear(r, &changed);
  if (!persist) {
    OweLocked(rlink, changed);
    return true;
  }
  Status st = PersistLocked(rlink, changed);
  if (!st.ok()) return st;
  return true;
}

Status DcmTracker::PersistClears(size_t rlink) {
  std::lock_guard<std::mutex> lock(mu_);
  return PersistLocked(rlink, {});
}

uint64_t DcmTracker::dirty_regions(size_t rlink) const {
  std::lock_guard<std::mutex> lock(mu_);
  return maps_[rlink].dirty_regions();
}

uint64_t DcmTracker::dirty_bytes(size_t rlink) const {
  std::lock_guard<std::mutex> lock(mu_);
  return maps_[rlink].dirty_bytes();
}

}  // namespace rvg
