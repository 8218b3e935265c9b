// RangeCheck: a secondary's side of comparing one range of a volume with
// the primary's (checksum resync and verify, doc/resync.md).
//
// The primary sends the hash of its bytes (RegionHash); the secondary reads
// the same range of its image, hashes it and answers whether the two are
// the same. A resync's checks are processed in order with its regions (a
// check never sees a region written after it); a verify's once the
// secondary has applied every write up to `after_seq`, so that the primary
// can tell a real difference from a write still on its way.
#pragma once

#include <cstdint>
#include <vector>

#include "core/region_hash.h"
#include "core/status.h"
#include "core/volume_set.h"

namespace rvg {

struct RangeCheck {
  bool verify = false;  // false: part of a resync
  uint64_t number = 0;  // numbered among the resync's regions, or the verify's checks
  uint32_t volume = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  RegionHash hash;         // of the primary's bytes
  uint64_t after_seq = 0;  // verify: hash once applied_seq >= it
};

struct RangeCheckResult {
  bool verify = false;
  uint64_t number = 0;
  bool same = false;
  uint64_t seq = 0;  // verify: the applied seq the images were at
};

// Reads the range from `volumes` into `scratch` (reused between calls) and
// says whether its hash equals check.hash. The caller validated the range.
Result<bool> CheckRangeOnImage(const VolumeSet& volumes, const RangeCheck& check,
                               std::vector<uint8_t>* scratch);

}  // namespace rvg
