#include "core/text.h"

#include <cstdint>

namespace rvg {
namespace {

bool InRange(std::string_view text, size_t i, uint8_t lo, uint8_t hi) {
  if (i >= text.size()) return false;
  const auto b = static_cast<uint8_t>(text[i]);
  return b >= lo && b <= hi;
}

// The length of the printable character that starts at text[i], or 0 when
// the bytes there are a control character or not valid UTF-8. The ranges
// of the second byte are the ones of RFC 3629's grammar; they exclude
// overlong forms and surrogates, and for 0xC2 the C1 controls.
size_t PrintableAt(std::string_view text, size_t i) {
  const auto lead = static_cast<uint8_t>(text[i]);
  if (lead < 0x80) return lead >= 0x20 && lead != 0x7f ? 1 : 0;
  size_t length = 0;
  uint8_t lo = 0x80;
  uint8_t hi = 0xbf;
  if (lead == 0xc2) {
    length = 2;
    lo = 0xa0;  // U+0080..U+009F are the C1 controls
  } else if (lead >= 0xc3 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) lo = 0xa0;  // overlong
    if (lead == 0xed) hi = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) lo = 0x90;  // overlong
    if (lead == 0xf4) hi = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (!InRange(text, i + 1, lo, hi)) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (!InRange(text, i + k, 0x80, 0xbf)) return 0;
  }
  return length;
}

}  // namespace

bool IsPrintableUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = PrintableAt(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string Printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = PrintableAt(text, i);
    if (n > 0 && text[i] != '\\') {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    const auto b = static_cast<uint8_t>(text[i++]);
    if (b == '\\') {
      out += "\\\\";
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    }
  }
  return out;
}

}  // namespace rvg
