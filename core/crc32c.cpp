#include "core/crc32c.h"

#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define RVG_CRC32C_X86 1
#endif

namespace rvg {
namespace {

// The Castagnoli polynomial 0x1EDC6F41, bit-reversed: CRC-32C is defined
// LSB-first (reflected), which is also what the SSE4.2 instruction computes.
constexpr uint32_t kReflectedPolynomial = 0x82F63B78;

// Slicing-by-8 tables: kTables.entry[k][b] is the CRC contribution of byte
// value b followed by k zero bytes, so eight table lookups advance the CRC
// over eight bytes at once.
struct SliceTables {
  uint32_t entry[8][256];
};

constexpr SliceTables MakeSliceTables() {
  SliceTables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kReflectedPolynomial : 0);
    t.entry[0][b] = crc;
  }
  for (int k = 1; k < 8; ++k) {
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t prev = t.entry[k - 1][b];
      t.entry[k][b] = (prev >> 8) ^ t.entry[0][prev & 0xff];
    }
  }
  return t;
}

constexpr SliceTables kTables = MakeSliceTables();

// Little-endian load independent of the host's byte order and alignment.
inline uint32_t LoadLe32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

uint32_t ExtendPortable(uint32_t crc, const uint8_t* p, size_t n) {
  const auto& t = kTables.entry;
  uint32_t c = ~crc;
  for (; n >= 8; p += 8, n -= 8) {
    uint32_t lo = c ^ LoadLe32(p);
    uint32_t hi = LoadLe32(p + 4);
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
        t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
  }
  for (; n > 0; ++p, --n) c = t[0][(c ^ *p) & 0xff] ^ (c >> 8);
  return ~c;
}

#ifdef RVG_CRC32C_X86
__attribute__((target("sse4.2"))) uint32_t ExtendSse42(uint32_t crc, const uint8_t* p, size_t n) {
  uint32_t c = ~crc;
  // Bytes up to an 8-byte boundary first, so the main loop does aligned loads.
  for (; n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0; ++p, --n) c = _mm_crc32_u8(c, *p);
#if defined(__x86_64__)
  uint64_t c64 = c;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof(word));
    c64 = _mm_crc32_u64(c64, word);
  }
  c = static_cast<uint32_t>(c64);
#endif
  for (; n >= 4; p += 4, n -= 4) {
    uint32_t word;
    std::memcpy(&word, p, sizeof(word));
    c = _mm_crc32_u32(c, word);
  }
  for (; n > 0; ++p, --n) c = _mm_crc32_u8(c, *p);
  return ~c;
}

bool CpuHasSse42() {
  __builtin_cpu_init();  // needed when called before main() from a static initializer
  return __builtin_cpu_supports("sse4.2");
}
#endif

using ExtendFunction = uint32_t (*)(uint32_t, const uint8_t*, size_t);

ExtendFunction ChooseExtendFunction() {
#ifdef RVG_CRC32C_X86
  if (CpuHasSse42()) return ExtendSse42;
#endif
  return ExtendPortable;
}

}  // namespace

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n) {
  static const ExtendFunction extend = ChooseExtendFunction();
  return extend(crc, static_cast<const uint8_t*>(data), n);
}

bool Crc32cHardwareAvailable() {
#ifdef RVG_CRC32C_X86
  static const bool available = CpuHasSse42();
  return available;
#else
  return false;
#endif
}

uint32_t Crc32cExtendSoftware(uint32_t crc, const void* data, size_t n) {
  return ExtendPortable(crc, static_cast<const uint8_t*>(data), n);
}

uint32_t Crc32cExtendHardware(uint32_t crc, const void* data, size_t n) {
#ifdef RVG_CRC32C_X86
  if (Crc32cHardwareAvailable()) return ExtendSse42(crc, static_cast<const uint8_t*>(data), n);
#endif
  return Crc32cExtendSoftware(crc, data, n);
}

}  // namespace rvg
