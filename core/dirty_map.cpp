// DirtyMap: bits in 64-bit words, one word vector per volume, with a
// population count per chunk and per volume kept in step with the words.
// Every bit change goes through SetBits() or ClearBits(), which keep all
// the counters and report the chunk; nothing else writes `words`.
#include "core/dirty_map.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <string>

namespace rvg {

namespace {

// Bits lo..hi (inclusive, 0 <= lo <= hi < 64) of a word.
uint64_t BitRange(uint64_t lo, uint64_t hi) {
  const uint64_t upto_hi = hi == 63 ? ~uint64_t{0} : (uint64_t{1} << (hi + 1)) - 1;
  return upto_hi & (~uint64_t{0} << lo);
}

bool ChunkLess(const ChunkRef& a, const ChunkRef& b) {
  return a.volume != b.volume ? a.volume < b.volume : a.index < b.index;
}

}  // namespace

class DirtyMap::ChangeLog {
 public:
  explicit ChangeLog(std::vector<ChunkRef>* out) : out_(out), before_(out ? out->size() : 0) {}

  void Add(uint32_t volume, uint64_t chunk) {
    if (out_ == nullptr) return;
    const ChunkRef ref{volume, chunk};
    if (out_->size() > before_ && out_->back() == ref) return;
    if (WasThere(ref)) return;
    out_->push_back(ref);
  }

 private:
  // Callers usually pass a short or empty vector; one that accumulates many
  // chunks (a batch of writes over a large map) gets a sorted copy instead
  // of a scan per added chunk.
  static constexpr size_t kLinearScan = 16;

  bool WasThere(const ChunkRef& ref) {
    const auto begin = out_->begin();
    const auto end = begin + static_cast<std::ptrdiff_t>(before_);
    if (before_ <= kLinearScan) return std::find(begin, end, ref) != end;
    if (sorted_.empty()) {
      sorted_.assign(begin, end);
      std::sort(sorted_.begin(), sorted_.end(), ChunkLess);
    }
    return std::binary_search(sorted_.begin(), sorted_.end(), ref, ChunkLess);
  }

  std::vector<ChunkRef>* out_;
  size_t before_;  // entries that were in *out_ before the call
  std::vector<ChunkRef> sorted_;
};

DirtyMap::DirtyMap(const std::vector<VolumeSpec>& volumes, uint64_t region_size)
    : region_size_(region_size) {
  volumes_.reserve(volumes.size());
  for (const VolumeSpec& spec : volumes) {
    Volume v;
    v.id = spec.id;
    v.size = spec.size;
    // A zero region size is a caller's bug; no regions keeps every call
    // well-defined rather than dividing by zero.
    v.regions = region_size == 0 ? 0 : spec.size / region_size + (spec.size % region_size != 0);
    v.words.assign((v.regions + kWordBits - 1) / kWordBits, 0);
    v.chunk_dirty.assign(ChunkCount(v), 0);
    by_id_.emplace(v.id, volumes_.size());  // keeps the first of a repeated id
    volumes_.push_back(std::move(v));
  }
}

DirtyMap::Volume* DirtyMap::Find(uint32_t id) {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &volumes_[it->second];
}

const DirtyMap::Volume* DirtyMap::Find(uint32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &volumes_[it->second];
}

uint64_t DirtyMap::RegionBytes(const Volume& v, uint64_t index) const {
  const uint64_t offset = index * region_size_;
  return std::min(region_size_, v.size - offset);
}

uint64_t DirtyMap::ChunkCount(const Volume& v) const {
  return (v.regions + kChunkBits - 1) / kChunkBits;
}

uint64_t DirtyMap::ChunkByteLength(const Volume& v, uint64_t chunk) const {
  const uint64_t bits = std::min(kChunkBits, v.regions - chunk * kChunkBits);
  return (bits + 7) / 8;
}

uint64_t DirtyMap::SetBits(Volume& v, uint64_t w, uint64_t bits, ChangeLog& log) {
  const uint64_t newly = bits & ~v.words[w];
  if (newly == 0) return 0;
  v.words[w] |= newly;
  const uint64_t n = static_cast<uint64_t>(std::popcount(newly));
  v.chunk_dirty[w / kWordsPerChunk] += static_cast<uint32_t>(n);
  v.dirty += n;
  dirty_regions_ += n;
  dirty_bytes_ += n * region_size_;
  // The volume's last region may be shorter than region_size.
  const uint64_t last = v.regions - 1;
  if (w == last / kWordBits && ((newly >> (last % kWordBits)) & 1) != 0) {
    dirty_bytes_ -= region_size_ - RegionBytes(v, last);
  }
  log.Add(v.id, w / kWordsPerChunk);
  return n;
}

uint64_t DirtyMap::ClearBits(Volume& v, uint64_t w, uint64_t bits, ChangeLog& log) {
  const uint64_t gone = bits & v.words[w];
  if (gone == 0) return 0;
  v.words[w] &= ~gone;
  const uint64_t n = static_cast<uint64_t>(std::popcount(gone));
  v.chunk_dirty[w / kWordsPerChunk] -= static_cast<uint32_t>(n);
  v.dirty -= n;
  dirty_regions_ -= n;
  dirty_bytes_ -= n * region_size_;
  const uint64_t last = v.regions - 1;
  if (w == last / kWordBits && ((gone >> (last % kWordBits)) & 1) != 0) {
    dirty_bytes_ += region_size_ - RegionBytes(v, last);
  }
  log.Add(v.id, w / kWordsPerChunk);
  return n;
}

uint64_t DirtyMap::SetRange(Volume& v, uint64_t first, uint64_t last, ChangeLog& log) {
  uint64_t newly = 0;
  const uint64_t first_word = first / kWordBits;
  const uint64_t last_word = last / kWordBits;
  for (uint64_t w = first_word; w <= last_word; ++w) {
    const uint64_t lo = w == first_word ? first % kWordBits : 0;
    const uint64_t hi = w == last_word ? last % kWordBits : kWordBits - 1;
    newly += SetBits(v, w, BitRange(lo, hi), log);
  }
  return newly;
}

size_t DirtyMap::Mark(uint32_t volume, uint64_t offset, uint64_t length,
                      std::vector<ChunkRef>* changed) {
  Volume* v = Find(volume);
  if (v == nullptr || length == 0 || offset >= v->size) return 0;
  // Clamped without computing offset + length, which may overflow.
  const uint64_t end = length > v->size - offset ? v->size : offset + length;
  ChangeLog log(changed);
  return static_cast<size_t>(SetRange(*v, offset / region_size_, (end - 1) / region_size_, log));
}

void DirtyMap::MarkAll(std::vector<ChunkRef>* changed) {
  ChangeLog log(changed);
  for (Volume& v : volumes_) {
    if (v.regions > 0) SetRange(v, 0, v.regions - 1, log);
  }
}

void DirtyMap::ClearAll(std::vector<ChunkRef>* changed) {
  ChangeLog log(changed);
  for (Volume& v : volumes_) {
    for (uint64_t c = 0; c < v.chunk_dirty.size(); ++c) {
      if (v.chunk_dirty[c] == 0) continue;
      const uint64_t end = std::min<uint64_t>((c + 1) * kWordsPerChunk, v.words.size());
      for (uint64_t w = c * kWordsPerChunk; w < end; ++w) ClearBits(v, w, ~uint64_t{0}, log);
    }
  }
}

bool DirtyMap::Clear(RegionRef region, std::vector<ChunkRef>* changed) {
  Volume* v = Find(region.volume);
  if (v == nullptr || region.index >= v->regions) return false;
  ChangeLog log(changed);
  return ClearBits(*v, region.index / kWordBits, uint64_t{1} << (region.index % kWordBits),
                   log) != 0;
}

bool DirtyMap::IsDirty(RegionRef region) const {
  const Volume* v = Find(region.volume);
  if (v == nullptr || region.index >= v->regions) return false;
  return ((v->words[region.index / kWordBits] >> (region.index % kWordBits)) & 1) != 0;
}

std::optional<uint64_t> DirtyMap::NextInVolume(const Volume& v, uint64_t from) const {
  if (from >= v.regions) return std::nullopt;
  uint64_t w = from / kWordBits;
  uint64_t word = v.words[w] & (~uint64_t{0} << (from % kWordBits));
  for (;;) {
    if (word != 0) return w * kWordBits + static_cast<uint64_t>(std::countr_zero(word));
    ++w;
    if (w % kWordsPerChunk == 0) {
      // A chunk boundary: clean chunks are skipped without reading them.
      uint64_t c = w / kWordsPerChunk;
      while (c < v.chunk_dirty.size() && v.chunk_dirty[c] == 0) ++c;
      w = c * kWordsPerChunk;
    }
    if (w >= v.words.size()) return std::nullopt;
    word = v.words[w];
  }
}

std::optional<RegionRef> DirtyMap::NextDirty(RegionRef from) const {
  auto it = by_id_.find(from.volume);
  size_t i = it == by_id_.end() ? 0 : it->second;
  uint64_t index = it == by_id_.end() ? 0 : from.index;
  for (; i < volumes_.size(); ++i, index = 0) {
    const Volume& v = volumes_[i];
    if (v.dirty == 0) continue;
    if (std::optional<uint64_t> next = NextInVolume(v, index)) return RegionRef{v.id, *next};
  }
  return std::nullopt;
}

std::pair<uint64_t, uint64_t> DirtyMap::Extent(RegionRef region) const {
  const Volume* v = Find(region.volume);
  if (v == nullptr || region.index >= v->regions) return {0, 0};
  return {region.index * region_size_, RegionBytes(*v, region.index)};
}

BitmapChunk DirtyMap::Chunk(ChunkRef chunk) const {
  BitmapChunk out{chunk.volume, chunk.index, {}};
  const Volume* v = Find(chunk.volume);
  if (v == nullptr || chunk.index >= ChunkCount(*v)) return out;
  out.bits.assign(ChunkByteLength(*v, chunk.index), 0);
  const uint64_t base = chunk.index * kWordsPerChunk;
  for (uint64_t j = 0; j < out.bits.size(); ++j) {
    // Words are little-endian bytes of bits: byte j holds bits 8*(j%8)...
    // of word j/8, which are regions base*64 + j*8 + 0..7.
    out.bits[j] = static_cast<uint8_t>(v->words[base + j / 8] >> (8 * (j % 8)));
  }
  return out;
}

Status DirtyMap::Load(const BitmapChunk& chunk) {
  const std::string name = fmt::format("bitmap chunk {} of volume id {}", chunk.index, chunk.volume);
  Volume* v = Find(chunk.volume);
  if (v == nullptr) {
    return Status::Error(name + ": the RVG has no such volume (the state database is damaged "
                                "or the volumes changed)",
                         EINVAL);
  }
  if (chunk.index >= ChunkCount(*v)) {
    return Status::Error(fmt::format("{}: past the end of the volume, which has {} chunks of "
                                     "{} regions (the state database is damaged or the volume "
                                     "or region size changed)",
                                     name, ChunkCount(*v), kChunkBits),
                         EINVAL);
  }
  const uint64_t expected = ChunkByteLength(*v, chunk.index);
  if (chunk.bits.size() != expected) {
    return Status::Error(fmt::format("{}: {} bytes where {} were expected (the state database "
                                     "is damaged or the volume or region size changed)",
                                     name, chunk.bits.size(), expected),
                         EINVAL);
  }
  // Only a last chunk can end inside a byte; the bits past the volume's last
  // region must be zero, or the map would count regions that do not exist.
  const uint64_t regions_here = std::min(kChunkBits, v->regions - chunk.index * kChunkBits);
  if (regions_here % 8 != 0 && (chunk.bits.back() >> (regions_here % 8)) != 0) {
    return Status::Error(name + ": bits set past the volume's last region (the state database "
                                "is damaged or the volume or region size changed)",
                         EINVAL);
  }
  ChangeLog log(nullptr);
  const uint64_t base = chunk.index * kWordsPerChunk;
  for (uint64_t first = 0; first < chunk.bits.size(); first += 8) {
    uint64_t word = 0;
    const uint64_t n = std::min<uint64_t>(8, chunk.bits.size() - first);
    for (uint64_t k = 0; k < n; ++k) word |= uint64_t{chunk.bits[first + k]} << (8 * k);
    if (word != 0) SetBits(*v, base + first / 8, word, log);
  }
  return Status::Ok();
}

}  // namespace rvg
