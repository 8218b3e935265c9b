// ParseSize and FormatSize: what an administrator types and reads.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "core/size_parse.h"

TEST_CASE("ParseSize accepts plain numbers and binary suffixes") {
  struct Case {
    const char* text;
    uint64_t bytes;
  };
  const Case cases[] = {
      {"0", 0},
      {"4096", 4096},
      {"007", 7},
      {"512B", 512},
      {"1k", 1024},
      {"2KB", 2048},
      {"3KiB", 3072},
      {"64M", 64ull << 20},
      {"64mib", 64ull << 20},
      {"1g", 1ull << 30},
      {"10GiB", 10ull << 30},
      {"2T", 2ull << 40},
      {"2tb", 2ull << 40},
      {"18446744073709551615", UINT64_MAX},
      {"16777215T", 16777215ull << 40},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto parsed = rvg::ParseSize(c.text);
    REQUIRE(parsed.ok());
    CHECK(*parsed == c.bytes);
  }
}

TEST_CASE("ParseSize rejects malformed sizes with a message quoting the input") {
  const char* const cases[] = {
      "",   "-1",  "+1",  "1.5G", "12X",  "G",   "K1",   " 64M", "64M ",
      "64 M", "1KK", "1Bi", "1iB", "1GiBB", "0x10", "1e6", "1P",
  };
  for (const char* text : cases) {
    INFO(text);
    auto parsed = rvg::ParseSize(text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == EINVAL);
    CHECK(parsed.status().message() ==
          "invalid size \"" + std::string(text) +
              "\": expected a number with an optional K, M, G or T suffix");
  }
}

TEST_CASE("ParseSize rejects sizes that do not fit in 64 bits") {
  const char* const cases[] = {"99999999999999999999", "18446744073709551616", "16777216T",
                               "17179869184G"};
  for (const char* text : cases) {
    INFO(text);
    auto parsed = rvg::ParseSize(text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == EINVAL);
    // Built with += : GCC 12 -O3 reports a false -Wrestrict on "literal" + std::string&&.
    std::string quoted = "\"";
    quoted += text;
    quoted += '"';
    CHECK(parsed.status().message().find(quoted) != std::string::npos);
  }
}

TEST_CASE("FormatSize renders sizes for humans") {
  CHECK(rvg::FormatSize(0) == "0 B");
  CHECK(rvg::FormatSize(512) == "512 B");
  CHECK(rvg::FormatSize(1023) == "1023 B");
  CHECK(rvg::FormatSize(1024) == "1.0 KiB");
  CHECK(rvg::FormatSize(4096) == "4.0 KiB");
  CHECK(rvg::FormatSize(1536) == "1.5 KiB");
  CHECK(rvg::FormatSize(64ull << 20) == "64.0 MiB");
  CHECK(rvg::FormatSize(3ull << 29) == "1.5 GiB");
  CHECK(rvg::FormatSize(2ull << 40) == "2.0 TiB");
  // Just under 1 MiB rounds to 1024.0 KiB, which is shown as the next unit.
  CHECK(rvg::FormatSize((1ull << 20) - 1) == "1.0 MiB");
  CHECK(rvg::FormatSize(UINT64_MAX) == "16.0 EiB");
}

TEST_CASE("FormatSize output of a whole number of units parses back") {
  for (uint64_t bytes : {1ull << 10, 5ull << 20, 10ull << 30, 3ull << 40}) {
    std::string text = rvg::FormatSize(bytes);
    // "5.0 MiB" -> "5MiB"
    std::string compact = text.substr(0, text.find('.')) + text.substr(text.find(' ') + 1);
    INFO(text);
    auto parsed = rvg::ParseSize(compact);
    REQUIRE(parsed.ok());
    CHECK(*parsed == bytes);
  }
}
