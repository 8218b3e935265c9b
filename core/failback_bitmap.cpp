#include "core/failback_bitmap.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace rvg {

Result<std::vector<BitmapChunk>> FailbackChunks(const std::vector<VolumeSpec>& volumes,
                                                uint64_t region_size,
                                                const std::vector<VolumeExtent>& extents) {
  DirtyMap map(volumes, region_size);
  std::vector<ChunkRef> changed;
  for (const VolumeExtent& e : extents) {
    const VolumeSpec* volume = nullptr;
    for (const VolumeSpec& v : volumes) {
      if (v.id == e.volume) volume = &v;
    }
    if (volume == nullptr || e.offset > volume->size || e.length > volume->size - e.offset) {
      return Status::Error("a write of volume " + std::to_string(e.volume) + " at offset " +
                               std::to_string(e.offset) + " (" + std::to_string(e.length) +
                               " bytes) lies outside the volumes",
                           EINVAL);
    }
    map.Mark(e.volume, e.offset, e.length, &changed);
  }
  std::vector<BitmapChunk> chunks;
  for (const ChunkRef& ref : changed) chunks.push_back(map.Chunk(ref));
  return chunks;
}

Result<std::vector<VolumeExtent>> FailbackExtents(const std::vector<VolumeSpec>& volumes,
                                                  uint64_t region_size,
                                                  const std::vector<BitmapChunk>& chunks) {
  DirtyMap map(volumes, region_size);
  for (const BitmapChunk& chunk : chunks) {
    Status st = map.Load(chunk);
    if (!st.ok()) return st.Annotate("the failback bitmap");
  }
  std::vector<VolumeExtent> extents;
  RegionRef from{};
  for (std::optional<RegionRef> r = map.NextDirty(from); r; r = map.NextDirty(from)) {
    const auto [offset, length] = map.Extent(*r);
    VolumeExtent* last = extents.empty() ? nullptr : &extents.back();
    if (last != nullptr && last->volume == r->volume && last->offset + last->length == offset) {
      last->length += length;
    } else {
      extents.push_back({r->volume, offset, length});
    }
    from = RegionRef{r->volume, r->index + 1};
  }
  return extents;
}

std::vector<VolumeExtent> Coarsened(std::vector<VolumeExtent> extents, size_t max_count) {
  uint64_t gap = 1;
  while (extents.size() > max_count && max_count > 0) {
    std::vector<VolumeExtent> joined;
    for (const VolumeExtent& e : extents) {
      VolumeExtent* last = joined.empty() ? nullptr : &joined.back();
      const uint64_t end = last != nullptr ? last->offset + last->length : 0;
      if (last != nullptr && last->volume == e.volume && e.offset >= last->offset &&
          (e.offset <= end || e.offset - end <= gap)) {
        last->length = std::max(last->offset + last->length, e.offset + e.length) - last->offset;
      } else {
        joined.push_back(e);
      }
    }
    extents.swap(joined);
    gap = gap > (UINT64_MAX >> 2) ? UINT64_MAX : gap * 4;
  }
  return extents;
}

std::vector<VolumeExtent> WholeVolumes(const std::vector<VolumeSpec>& volumes) {
  std::vector<VolumeExtent> extents;
  for (const VolumeSpec& v : volumes) {
    if (v.size > 0) extents.push_back({v.id, 0, v.size});
  }
  return extents;
}

Result<std::vector<VolumeExtent>> SrlExtents(const Srl& srl, uint64_t from, uint64_t to) {
  std::vector<VolumeExtent> extents;
  if (from > to) return extents;
  if (from < srl.tail_seq() || to >= srl.next_seq()) {
    return Status::Error("the SRL holds seqs " + std::to_string(srl.tail_seq()) + ".." +
                             std::to_string(srl.next_seq() - 1) + ", not " +
                             std::to_string(from) + ".." + std::to_string(to),
                         ENOENT);
  }
  for (uint64_t seq = from; seq <= to; ++seq) {
    Result<WriteRecord> r = srl.Read(seq);
    if (!r.ok()) {
      // A checkpoint may release the record while it is read: as absent.
      return Status::Error("reading SRL record " + std::to_string(seq) + " back: " +
                               r.status().message(),
                           ENOENT);
    }
    extents.push_back({r->volume, r->offset, r->length});
  }
  return extents;
}

}  // namespace rvg
