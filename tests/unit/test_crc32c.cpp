// CRC-32C: published check values, and the hardware and software paths agree.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/crc32c.h"

namespace {

std::vector<uint8_t> RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> bytes(n);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  return bytes;
}

}  // namespace

TEST_CASE("CRC-32C matches the published check values") {
  CHECK(rvg::Crc32c("123456789", 9) == 0xE3069283u);
  CHECK(rvg::Crc32c("", 0) == 0u);

  // The iSCSI test vectors of RFC 3720, appendix B.4.
  uint8_t buf[32];
  std::memset(buf, 0, sizeof(buf));
  CHECK(rvg::Crc32c(buf, sizeof(buf)) == 0x8A9136AAu);
  std::memset(buf, 0xff, sizeof(buf));
  CHECK(rvg::Crc32c(buf, sizeof(buf)) == 0x62A8AB43u);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(i);
  CHECK(rvg::Crc32c(buf, sizeof(buf)) == 0x46DD794Eu);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
  CHECK(rvg::Crc32c(buf, sizeof(buf)) == 0x113FDB5Cu);
}

TEST_CASE("CRC-32C ISA-L and software paths give the same check value") {
  CHECK(rvg::Crc32cExtendSoftware(0, "123456789", 9) == 0xE3069283u);
  CHECK(rvg::Crc32cExtend(0, "123456789", 9) == 0xE3069283u);
}

TEST_CASE("CRC-32C ISA-L equals software for many lengths and alignments") {
  std::vector<uint8_t> bytes = RandomBytes(4096 + 64, 1);
  for (size_t align = 0; align < 16; ++align) {
    for (size_t len = 0; len <= 300; ++len) {
      const uint8_t* p = bytes.data() + align;
      INFO("align " << align << " length " << len);
      REQUIRE(rvg::Crc32cExtend(0, p, len) == rvg::Crc32cExtendSoftware(0, p, len));
      REQUIRE(rvg::Crc32cExtend(0x12345678, p, len) ==
              rvg::Crc32cExtendSoftware(0x12345678, p, len));
      REQUIRE(rvg::Crc32c(p, len) == rvg::Crc32cExtendSoftware(0, p, len));
    }
  }
  for (size_t len : {511u, 512u, 4096u, 4097u}) {
    INFO("length " << len);
    CHECK(rvg::Crc32cExtend(0, bytes.data() + 3, len) ==
          rvg::Crc32cExtendSoftware(0, bytes.data() + 3, len));
  }
}

TEST_CASE("CRC-32C extended over pieces equals the CRC of the whole") {
  std::vector<uint8_t> bytes = RandomBytes(10000, 2);
  const uint32_t whole = rvg::Crc32c(bytes.data(), bytes.size());
  std::mt19937 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    uint32_t soft = 0;
    uint32_t dispatched = 0;
    size_t pos = 0;
    while (pos < bytes.size()) {
      size_t piece = std::min<size_t>(bytes.size() - pos, rng() % 100);
      soft = rvg::Crc32cExtendSoftware(soft, bytes.data() + pos, piece);
      dispatched = rvg::Crc32cExtend(dispatched, bytes.data() + pos, piece);
      pos += piece;
    }
    REQUIRE(soft == whole);
    REQUIRE(dispatched == whole);
  }
}

TEST_CASE("CRC-32C changes when a single bit flips") {
  std::vector<uint8_t> bytes = RandomBytes(1000, 4);
  const uint32_t original = rvg::Crc32c(bytes.data(), bytes.size());
  for (size_t bit = 0; bit < bytes.size() * 8; bit += 37) {
    bytes[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    CHECK(rvg::Crc32c(bytes.data(), bytes.size()) != original);
    bytes[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  }
}
