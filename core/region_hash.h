// Region hashes: what checksum resync and verify compare between hosts.
//
// XXH3-128 (xxHash, Debian's libxxhash): both hosts hash every byte of the
// ranges they compare, so the hash must run at memory speed (XXH3 does over
// 10 GB/s on one core, where SHA-256 or BLAKE2 would make the hash, not the
// disk, the limit of a verify). It is not a defence against an adversary —
// the link is authenticated and only the paired primary asks — but against
// accidental differences: with 128 bits, the chance that two differing
// ranges hash alike is 2^-128 per comparison.
//
// All-zero ranges are found by IsAllZero before any hash, so that sparse
// images cost a scan of memory (the kernel hands out zero pages for holes)
// and no data on the wire.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rvg {

struct RegionHash {
  uint64_t high = 0;
  uint64_t low = 0;
  bool operator==(const RegionHash&) const = default;
};

RegionHash HashRegion(const void* data, size_t length);

// HashRegion of `length` zero bytes, without a buffer of that size (a hole
// in a sparse image is known to be zeros without reading it).
RegionHash ZeroHash(uint64_t length);

// True when every byte is zero.
bool IsAllZero(const void* data, size_t length);

}  // namespace rvg
