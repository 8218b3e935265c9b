// DirtyMap: which regions of an RVG's volumes differ from what a secondary
// holds (the DCM bitmap of an RLINK, or the failback bitmap), one bit per
// region, and which pieces of it must be persisted after a change.
//
// A volume is cut into regions of region_size bytes; the last one is
// shorter when the size is not a multiple. A region is dirty when some
// write touched it since the secondary last received it; a bitmap resync
// sends exactly the dirty regions (DESIGN.md, "Resync and verify").
//
// The map is persisted in chunks (DESIGN.md, "State": a change rewrites one
// small row, not the whole map). A chunk holds kChunkBits consecutive
// regions of one volume as kChunkBytes bytes, least significant bit first:
// bit i of byte j is region chunk_index * kChunkBits + j * 8 + i. The last
// chunk of a volume is only as many bytes as its regions need, and the bits
// past the volume's last region are zero. Every call that sets or clears
// bits appends the chunks it changed to `changed`, so that the caller can
// persist exactly those (e.g. StateDb::SaveBitmapChunks) before it answers
// the write that dirtied them. A null `changed` is allowed and reports
// nothing.
//
// Invariants: no bit is set past a volume's last region; dirty_regions()
// and dirty_bytes() equal the number and the summed lengths of the set
// bits; every chunk's population count is kept alongside, which makes
// NextDirty() skip clean chunks (kChunkBits regions) at a time and clean
// volumes at once, and ClearAll() visit only chunks that have a bit set.
//
// Not thread-safe: the owner serializes every call.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/volume.h"

namespace rvg {

// The smallest region size an RVG may have; every region size is a power
// of two of at least this. rvgadm create and the state check enforce it,
// and the resync window is sized for it (net/rlink_sender.cpp).
inline constexpr uint64_t kMinRegionSize = 4096;

// A region of a volume: bytes [index*region_size, min((index+1)*region_size,
// volume size)).
struct RegionRef {
  uint32_t volume = 0;
  uint64_t index = 0;
  bool operator==(const RegionRef&) const = default;
};

// One persisted piece of a bitmap: kChunkBytes bytes of bits (bit i of byte
// j = region chunk_index*kChunkBits + j*8 + i), the last chunk of a volume
// may be shorter.
struct BitmapChunk {
  uint32_t volume = 0;
  uint64_t index = 0;
  std::vector<uint8_t> bits;
};

struct ChunkRef {
  uint32_t volume = 0;
  uint64_t index = 0;
  bool operator==(const ChunkRef&) const = default;
};

class DirtyMap {
 public:
  static constexpr uint64_t kChunkBytes = 4096;
  static constexpr uint64_t kChunkBits = kChunkBytes * 8;

  // A clean map of `volumes` (by VolumeSpec::id and size; the order given
  // is the order NextDirty() walks). `region_size` must be > 0. Volume ids
  // are unique; should one repeat, the first volume with it is the one
  // every call by id addresses.
  DirtyMap(const std::vector<VolumeSpec>& volumes, uint64_t region_size);

  uint64_t region_size() const { return region_size_; }

  // Sets the bits of every region that [offset, offset+length) of `volume`
  // touches. Length 0 touches none; a range past the end of the volume is
  // clamped to it and an unknown volume is ignored (both are the caller's
  // bug, but a bitmap must never fail a write). Appends to *changed every
  // chunk in which a bit went from 0 to 1, unless *changed holds it already.
  // Returns how many regions became dirty (0: all were dirty already, and
  // nothing needs persisting).
  size_t Mark(uint32_t volume, uint64_t offset, uint64_t length, std::vector<ChunkRef>* changed);

  // Every region of every volume; appends each chunk that was not full.
  void MarkAll(std::vector<ChunkRef>* changed);
  // Every region clean; appends each chunk that had a bit set.
  void ClearAll(std::vector<ChunkRef>* changed);
  // Cleans one region; true if it was dirty (then its chunk is appended).
  // An unknown region is not dirty.
  bool Clear(RegionRef region, std::vector<ChunkRef>* changed);
  bool IsDirty(RegionRef region) const;

  // The first dirty region at or after `from`, in (volume order as given to
  // the constructor, index) order; nullopt if none. A `from` of an unknown
  // volume starts at the beginning of the map, so RegionRef{} finds the
  // first dirty region wherever volume ids start.
  std::optional<RegionRef> NextDirty(RegionRef from) const;

  uint64_t dirty_regions() const { return dirty_regions_; }
  // The summed lengths of the dirty regions (the last region of a volume
  // counts its real, possibly shorter, length).
  uint64_t dirty_bytes() const { return dirty_bytes_; }

  // {offset, length} of a region in its volume; {0, 0} for a region that
  // does not exist.
  std::pair<uint64_t, uint64_t> Extent(RegionRef region) const;

  // The chunk's bits as persisted (see the header comment). A chunk that
  // does not exist comes back with no bits.
  BitmapChunk Chunk(ChunkRef chunk) const;

  // Loads a persisted chunk, OR-ing its bits into the map. A chunk of an
  // unknown volume, past the end of its volume, of the wrong size or with
  // bits set past the volume's last region is an error naming it (state.db
  // is damaged or the volumes changed), and the map is left unchanged.
  Status Load(const BitmapChunk& chunk);

 private:
  static constexpr uint64_t kWordBits = 64;
  static constexpr uint64_t kWordsPerChunk = kChunkBits / kWordBits;

  struct Volume {
    uint32_t id = 0;
    uint64_t size = 0;
    uint64_t regions = 0;
    uint64_t dirty = 0;                 // set bits in `words`
    std::vector<uint64_t> words;        // bit r % 64 of word r / 64 = region r
    std::vector<uint32_t> chunk_dirty;  // set bits per chunk
  };

  // Appends chunks to a caller's `changed` without duplicates: those that
  // were there before the call, and those this call appended (each call
  // visits chunks in map order, so a repeat can only be the last one).
  class ChangeLog;

  Volume* Find(uint32_t id);
  const Volume* Find(uint32_t id) const;
  uint64_t RegionBytes(const Volume& v, uint64_t index) const;
  uint64_t ChunkCount(const Volume& v) const;
  uint64_t ChunkByteLength(const Volume& v, uint64_t chunk) const;
  // Set / clear `bits` of word `w` of `v` (bits past the last region must
  // be zero); keep every counter and report the chunk when a bit changed.
  // Return how many bits changed.
  uint64_t SetBits(Volume& v, uint64_t w, uint64_t bits, ChangeLog& log);
  uint64_t ClearBits(Volume& v, uint64_t w, uint64_t bits, ChangeLog& log);
  // Sets regions [first, last] of `v` (last < v.regions); returns how many
  // became dirty.
  uint64_t SetRange(Volume& v, uint64_t first, uint64_t last, ChangeLog& log);
  // The first set bit of `v` at or after region `from`, if any.
  std::optional<uint64_t> NextInVolume(const Volume& v, uint64_t from) const;

  uint64_t region_size_;
  std::vector<Volume> volumes_;
  std::unordered_map<uint32_t, size_t> by_id_;  // id -> index in volumes_
  uint64_t dirty_regions_ = 0;
  uint64_t dirty_bytes_ = 0;
};

}  // namespace rvg
