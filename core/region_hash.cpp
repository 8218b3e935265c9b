#include "core/region_hash.h"

// XXH3_state_t on the stack needs its definition (the static-linking API).
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <algorithm>
#include <cstring>

namespace rvg {

RegionHash HashRegion(const void* data, size_t length) {
  const XXH128_hash_t h = XXH3_128bits(data, length);
  return RegionHash{h.high64, h.low64};
}

RegionHash ZeroHash(uint64_t length) {
  // A resync of a sparse image asks for the same length (a 1 MiB piece)
  // thousands of times; hashing a MiB of zeros each time cost a third of
  // a sparse sync. Each thread remembers its last answer.
  thread_local uint64_t cached_length = UINT64_MAX;
  thread_local RegionHash cached;
  if (length == cached_length) return cached;
  static const unsigned char kZeros[64 * 1024] = {};
  // XXH3's streaming form gives the same hash as the one-shot call.
  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  for (uint64_t done = 0; done < length;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof kZeros, length - done));
    XXH3_128bits_update(&state, kZeros, n);
    done += n;
  }
  const XXH128_hash_t h = XXH3_128bits_digest(&state);
  cached = RegionHash{h.high64, h.low64};
  cached_length = length;
  return cached;
}

bool IsAllZero(const void* data, size_t length) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  size_t i = 0;
  for (; i + sizeof(uint64_t) <= length; i += sizeof(uint64_t)) {
    uint64_t word;
    std::memcpy(&word, bytes + i, sizeof word);
    if (word != 0) return false;
  }
  for (; i < length; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

}  // namespace rvg
