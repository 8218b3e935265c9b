// Tests for net/control_codec: control messages round-trip, and no input —
// deep nesting, lying lengths, wrong types, random bytes — crashes, throws
// or is accepted beyond the limits.
#include "net/control_codec.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace rvg {
namespace {

using Bytes = std::vector<uint8_t>;

Result<nlohmann::json> Decode(const Bytes& b) { return DecodeControlMessage(b.data(), b.size()); }

// {"k": [[[...]]]} with `depth` levels in all (the map is level 1).
Bytes Nested(size_t depth) {
  Bytes b = {0x81, 0xa1, 'k'};
  for (size_t i = 1; i + 1 < depth; i++) b.push_back(0x91);  // fixarray of 1
  b.push_back(0x90);                                         // innermost: empty array
  return b;
}

void Append32(Bytes& b, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(v >> shift));
}

TEST_CASE("control messages round-trip") {
  nlohmann::json request = {{"cmd", "drain"}, {"rlink", "to_london"}, {"timeout", 2.5},
                            {"list", {1, -2, 3000000000LL, nullptr, true}},
                            {"nested", {{"a", {{"b", "ünïcode"}}}}}};
  Bytes bytes = EncodeControlMessage(request);
  Result<nlohmann::json> decoded = Decode(bytes);
  REQUIRE(decoded.ok());
  CHECK(*decoded == request);
}

TEST_CASE("nesting is bounded by kMaxControlDepth") {
  CHECK(Decode(Nested(kMaxControlDepth)).ok());
  Result<nlohmann::json> deep = Decode(Nested(kMaxControlDepth + 1));
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.status().code() == EBADMSG);
  CHECK(deep.status().message().find("nested deeper") != std::string::npos);
}

TEST_CASE("300 KB of nested arrays are refused without recursion") {
  // The request that overflowed rvgd's stack through from_msgpack.
  Bytes bytes = {0x81, 0xa1, 'k'};
  bytes.insert(bytes.end(), 300 * 1024, 0x91);
  bytes.push_back(0xc0);
  CHECK_FALSE(Decode(bytes).ok());
  // The same without the map around it.
  Bytes bare(300 * 1024, 0x91);
  bare.push_back(0xc0);
  CHECK_FALSE(Decode(bare).ok());
}

TEST_CASE("the total number of values is bounded") {
  Bytes bytes = {0x81, 0xa1, 'k', 0xdd};
  Append32(bytes, kMaxControlElements + 10);
  bytes.insert(bytes.end(), kMaxControlElements + 10, 0xc0);
  Result<nlohmann::json> r = Decode(bytes);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("values") != std::string::npos);
}

TEST_CASE("declared lengths beyond the input are refused before anything is built") {
  Bytes array = {0x81, 0xa1, 'k', 0xdd};
  Append32(array, 0xffffffff);
  CHECK_FALSE(Decode(array).ok());
  Bytes map = {0xdf};
  Append32(map, 0xffffffff);
  CHECK_FALSE(Decode(map).ok());
  Bytes string = {0x81, 0xa1, 'k', 0xdb};
  Append32(string, 0xffffffff);
  string.push_back('x');
  CHECK_FALSE(Decode(string).ok());
}

TEST_CASE("anything but one map of text is refused") {
  CHECK_FALSE(Decode({}).ok());
  CHECK_FALSE(DecodeControlMessage(nullptr, 0).ok());
  CHECK_FALSE(Decode({0x90}).ok());                          // an array
  CHECK_FALSE(Decode({0xa2, 'h', 'i'}).ok());                // a string
  CHECK_FALSE(Decode({0x80, 0x80}).ok());                    // trailing bytes
  CHECK_FALSE(Decode({0x81, 0x01, 0x02}).ok());              // integer key
  CHECK_FALSE(Decode({0x81, 0xa1, 'k', 0xc4, 1, 0}).ok());   // bin
  CHECK_FALSE(Decode({0x81, 0xa1, 'k', 0xd4, 1, 0}).ok());   // fixext
  CHECK_FALSE(Decode({0x81, 0xa1, 'k', 0xc1}).ok());         // reserved
  CHECK_FALSE(Decode({0x81, 0xa1, 'k', 0xa1, 0xff}).ok());   // not UTF-8
  CHECK_FALSE(Decode({0x81, 0xa2, 0xc0, 0x80, 0xc0}).ok());  // overlong UTF-8
  CHECK_FALSE(Decode({0x81, 0xa3, 0xed, 0xa0, 0x80, 0xc0}).ok());  // surrogate
  CHECK_FALSE(Decode({0x81, 0xa1, 'k', 0xcb, 0, 0}).ok());   // truncated float64
  CHECK_FALSE(Decode({0x82, 0xa1, 'k', 0xc0}).ok());         // missing pair
  CHECK(Decode({0x80}).ok());                                // an empty map is a map
}

TEST_CASE("oversized messages are refused with EMSGSIZE") {
  Bytes bytes = {0x81, 0xa1, 'k', 0xdb};
  Append32(bytes, kMaxControlMessageBytes);
  bytes.insert(bytes.end(), kMaxControlMessageBytes, 'x');
  Result<nlohmann::json> r = Decode(bytes);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == EMSGSIZE);
}

TEST_CASE("random and mutated input never throws or crashes") {
  std::mt19937 rng(42);
  Bytes valid = EncodeControlMessage(
      {{"cmd", "status"}, {"x", {1, 2, {{"y", "z"}}}}, {"f", 1.5}, {"n", -70000}});
  for (int round = 0; round < 20000; round++) {
    Bytes b = valid;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < edits; i++) {
      switch (rng() % 3) {
        case 0: b[rng() % b.size()] = static_cast<uint8_t>(rng()); break;
        case 1: b.insert(b.begin() + static_cast<long>(rng() % b.size()), static_cast<uint8_t>(rng())); break;
        case 2: if (b.size() > 1) b.erase(b.begin() + static_cast<long>(rng() % b.size())); break;
      }
    }
    Result<nlohmann::json> r = Decode(b);
    if (r.ok()) {
      CHECK(r->is_object());
      CHECK_NOTHROW(r->dump());  // strings are valid UTF-8: logging a request cannot throw
    }
  }
  for (int round = 0; round < 5000; round++) {
    Bytes b(rng() % 64);
    for (auto& byte : b) byte = static_cast<uint8_t>(rng());
    if (!b.empty()) b[0] = static_cast<uint8_t>(0x80 | (rng() % 16));
    CHECK_NOTHROW(Decode(b));
  }
}

}  // namespace
}  // namespace rvg
