// Parsing of sizes ("64M", "1G", "4096") as administrators type them.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace rvg {

// Accepts a decimal number with an optional K, M, G or T suffix (powers of
// 1024, upper or lower case, an optional trailing "B" or "iB"). Rejects
// empty strings, signs, fractions, unknown suffixes and overflow, with a
// message that quotes the input.
Result<uint64_t> ParseSize(const std::string& text);

// "1.5 GiB"-style rendering for humans.
std::string FormatSize(uint64_t bytes);

}  // namespace rvg
