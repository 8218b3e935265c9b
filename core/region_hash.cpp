#include "core/region_hash.h"

#include <xxhash.h>

#include <cstring>

namespace rvg {

RegionHash HashRegion(const void* data, size_t length) {
  const XXH128_hash_t h = XXH3_128bits(data, length);
  return RegionHash{h.high64, h.low64};
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
