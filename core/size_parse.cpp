#include "core/size_parse.h"

#include <cctype>
#include <iterator>
#include <limits>

namespace rvg {

namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

Status InvalidSize(const std::string& text) {
  return Status::Error("invalid size \"" + text +
                           "\": expected a number with an optional K, M, G or T suffix",
                       EINVAL);
}

Status TooLargeSize(const std::string& text) {
  return Status::Error("invalid size \"" + text + "\": too large (the limit is 16 EiB)",
                       EINVAL);
}

// log2 of the multiplier for a suffix ("", "B", "K", "KB", "KiB", ...),
// case-insensitive; -1 when the suffix is not one of those.
int SuffixShift(const std::string& suffix) {
  std::string lower;
  for (char c : suffix) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.empty() || lower == "b") return 0;
  int shift;
  switch (lower[0]) {
    case 'k': shift = 10; break;
    case 'm': shift = 20; break;
    case 'g': shift = 30; break;
    case 't': shift = 40; break;
    default: return -1;
  }
  const std::string rest = lower.substr(1);
  if (rest.empty() || rest == "b" || rest == "ib") return shift;
  return -1;
}

}  // namespace

Result<uint64_t> ParseSize(const std::string& text) {
  size_t pos = 0;
  uint64_t number = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
    const uint64_t digit = static_cast<uint64_t>(text[pos] - '0');
    if (number > (kMax - digit) / 10) return TooLargeSize(text);
    number = number * 10 + digit;
    ++pos;
  }
  // No digits covers "", "G", "-1" and "+1": signs are not part of a size.
  if (pos == 0) return InvalidSize(text);
  const int shift = SuffixShift(text.substr(pos));
  if (shift < 0) return InvalidSize(text);
  if (number > (kMax >> shift)) return TooLargeSize(text);
  return number << shift;
}

std::string FormatSize(uint64_t bytes) {
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  // Integer arithmetic throughout so the result is exact and the same on
  // every host. A value that rounds up to 1024.0 moves to the next unit.
  size_t unit_index = 0;
  uint64_t tenths = 0;
  for (;;) {
    const uint64_t unit = uint64_t{1} << (10 * (unit_index + 1));
    const uint64_t remainder = bytes % unit;
    // remainder * 10 < 10 * 2^60 fits in 64 bits.
    tenths = (bytes / unit) * 10 + (remainder * 10 + unit / 2) / unit;
    if (tenths < 10240 || unit_index + 1 == std::size(kUnits)) break;
    ++unit_index;
  }
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " " +
         kUnits[unit_index];
}

}  // namespace rvg
