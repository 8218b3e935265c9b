#include "core/printable.h"

#include <cstdint>
#include <cstdio>

namespace rvg {

namespace {

// Length of the printable UTF-8 character at text[i], or 0 when the bytes
// there are not one.
size_t PrintableCharLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  uint8_t lead = byte(i);
  if (lead < 0x20 || lead == 0x7f) return 0;
  if (lead < 0x80) return 1;
  size_t length;
  uint32_t code;
  if ((lead & 0xe0) == 0xc0) {
    length = 2;
    code = lead & 0x1f;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3;
    code = lead & 0x0f;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3f);
  }
  static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kMinimum[length] || code > 0x10ffff) return 0;  // overlong or too large
  if (code >= 0xd800 && code <= 0xdfff) return 0;           // surrogates
  if (code >= 0x80 && code <= 0x9f) return 0;               // C1 controls
  return length;
}

}  // namespace

bool IsPrintableUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t length = PrintableCharLength(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string EscapeForLog(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t length = PrintableCharLength(text, i);
    if (length == 0) {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02x", static_cast<uint8_t>(text[i]));
      out += hex;
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace rvg
