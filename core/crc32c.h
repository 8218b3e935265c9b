// CRC-32C (Castagnoli), the checksum of SRL records and wire messages.
//
// Computed by ISA-L (libisal), which chooses the fastest code for the CPU;
// a table-driven software version is kept as the reference the tests
// compare it with.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rvg {

// Extends `crc` (the value returned for the preceding bytes, 0 to start)
// over `n` bytes at `data`.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }

// The slicing-by-8 table version: the reference for tests and benchmarks.
uint32_t Crc32cExtendSoftware(uint32_t crc, const void* data, size_t n);

}  // namespace rvg
