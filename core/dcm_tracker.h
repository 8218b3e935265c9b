// DcmTracker: the DCM (data change map) of every RLINK of a primary — one
// DirtyMap each — and their persistence.
//
// An RLINK whose backlog no longer fits the SRL switches to DCM logging
// (srlprot=autodcm|dcm): from then on it is owed whole regions rather than
// records. The records it still needed are marked (MarkExtents, by the
// engine's checkpointer, before their SRL space is reused) and every new
// write marks its regions (Mark, by the write path, before the write is
// answered). A full sync marks everything (MarkAll). A bitmap resync reads
// the dirty regions (NextDirty) and clears them as the secondary
// acknowledges them (Clear).
//
// Durability: a region that becomes dirty is persisted (its chunk saved
// through the BitmapStore) before Mark/MarkExtents/MarkAll returns, and a
// write to a region already dirty costs no store call. Persistence happens
// under the tracker's lock, so a concurrent writer to the same region
// cannot return before the region is durable. Clearing is persisted too,
// but a lost clear only sends a region again: so a resync may clear
// without saving (ClearIfUnmarked's `persist` false) and save the clears
// now and then (PersistClears), instead of a store transaction per ACK.
// A clear not yet saved is saved by the next call that saves anything.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/dirty_map.h"
#include "core/status.h"
#include "core/volume.h"

namespace rvg {

// Where the bitmaps live (SQLite in rvgd, chunked: see state/schema.h).
class BitmapStore {
 public:
  virtual ~BitmapStore() = default;
  virtual Status SaveBitmapChunks(const std::string& rlink,
                                  const std::vector<BitmapChunk>& chunks) = 0;
  virtual Result<std::vector<BitmapChunk>> LoadBitmap(const std::string& rlink) = 0;
};

// A byte range of a volume.
struct VolumeExtent {
  uint32_t volume = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
};

class DcmTracker {
 public:
  DcmTracker(const std::vector<std::string>& rlinks, const std::vector<VolumeSpec>& volumes,
             uint64_t region_size, BitmapStore* store);

  // Loads every RLINK's persisted bitmap; call once, before anything else.
  Status Load();

  Status Mark(size_t rlink, const VolumeExtent& extent);
  Status MarkExtents(size_t rlink, const std::vector<VolumeExtent>& extents);
  Status MarkAll(size_t rlink);
  Status ClearAll(size_t rlink);

  // The first dirty region of `rlink` at or after `from`, with its extent.
  std::optional<std::pair<RegionRef, VolumeExtent>> NextDirty(size_t rlink, RegionRef from) const;
  Status Clear(size_t rlink, const std::vector<RegionRef>& regions);

  // A resync clears a region once the secondary has it — but only if
  // nothing was marked for the RLINK since the resync began: a mark then
  // (a resync cut short by an SRL overflow, whose records are marked
  // again) may concern a region whose data already left, older than the
  // mark. Every Mark* call moves the generation; ClearIfUnmarked clears
  // nothing (and says so) when it moved since `generation` was read.
  // `persist` false: the clear is saved later (see the top of the file).
  uint64_t mark_generation(size_t rlink) const;
  Result<bool> ClearIfUnmarked(size_t rlink, const std::vector<RegionRef>& regions,
                               uint64_t generation, bool persist);
  // Saves the clears of `rlink` not saved yet.
  Status PersistClears(size_t rlink);

  uint64_t dirty_regions(size_t rlink) const;
  uint64_t dirty_bytes(size_t rlink) const;
  uint64_t region_size() const { return region_size_; }

 private:
  void OweLocked(size_t rlink, const std::vector<ChunkRef>& changed);
  Status PersistLocked(size_t rlink, const std::vector<ChunkRef>& changed);

  const std::vector<std::string> names_;
  const uint64_t region_size_;
  BitmapStore* const store_;
  mutable std::mutex mu_;
  std::vector<DirtyMap> maps_;
  // Per RLINK: chunks changed but not saved (the save failed, or the
  // change was a clear not persisted yet).
  std::vector<std::vector<ChunkRef>> unpersisted_;
  std::vector<uint64_t> mark_generation_;           // per RLINK: Mark* calls
};

}  // namespace rvg
