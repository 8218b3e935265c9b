// CRC-32C (Castagnoli), the checksum of SRL records and wire messages.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it and a table-driven
// software fallback otherwise; both give identical results.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rvg {

// Extends `crc` (the value returned for the preceding bytes, 0 to start)
// over `n` bytes at `data`.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }

// The two implementations Crc32cExtend chooses between, exposed so tests and
// benchmarks can compare them. Crc32cExtendHardware falls back to the
// software version when Crc32cHardwareAvailable() is false.
bool Crc32cHardwareAvailable();
uint32_t Crc32cExtendSoftware(uint32_t crc, const void* data, size_t n);
uint32_t Crc32cExtendHardware(uint32_t crc, const void* data, size_t n);

}  // namespace rvg
