#include "net/control_codec.h"

#include <cerrno>
#include <cstdio>
#include <string>

namespace rvg {

namespace {

Status Malformed(const std::string& why) {
  return Status::Error("malformed control message: " + why, EBADMSG);
}

// A cursor over the input; every read is checked against the end.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}

  size_t left() const { return static_cast<size_t>(end_ - p_); }

  bool Byte(uint8_t* out) {
    if (left() < 1) return false;
    *out = *p_++;
    return true;
  }
  // A big-endian unsigned integer of `n` (1, 2, 4 or 8) bytes.
  bool BigEndian(size_t n, uint64_t* out) {
    if (left() < n) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = (v << 8) | p_[i];
    p_ += n;
    *out = v;
    return true;
  }
  bool Take(uint64_t n, const uint8_t** out) {
    if (left() < n) return false;
    *out = p_;
    p_ += n;
    return true;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsUtf8(const uint8_t* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    size_t extra;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i <= extra) return false;
    for (size_t k = 1; k <= extra; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

// What one msgpack type byte announces.
struct Token {
  enum Kind { kScalar, kString, kArray, kMap, kForbidden } kind = kScalar;
  size_t size_bytes = 0;  // kScalar: payload bytes; kString/kArray/kMap: width of the length field
  uint64_t inline_count = 0;  // fix* types carry their length in the type byte
};

Token Classify(uint8_t t) {
  if (t <= 0x7f || t >= 0xe0) return {Token::kScalar, 0, 0};  // fixints
  if (t <= 0x8f) return {Token::kMap, 0, uint64_t{t} & 0x0fu};
  if (t <= 0x9f) return {Token::kArray, 0, uint64_t{t} & 0x0fu};
  if (t <= 0xbf) return {Token::kString, 0, uint64_t{t} & 0x1fu};
  switch (t) {
    case 0xc0: case 0xc2: case 0xc3: return {Token::kScalar, 0, 0};  // nil, false, true
    case 0xca: return {Token::kScalar, 4, 0};                        // float32
    case 0xcb: return {Token::kScalar, 8, 0};                        // float64
    case 0xcc: case 0xd0: return {Token::kScalar, 1, 0};
    case 0xcd: case 0xd1: return {Token::kScalar, 2, 0};
    case 0xce: case 0xd2: return {Token::kScalar, 4, 0};
    case 0xcf: case 0xd3: return {Token::kScalar, 8, 0};
    case 0xd9: return {Token::kString, 1, 0};
    case 0xda: return {Token::kString, 2, 0};
    case 0xdb: return {Token::kString, 4, 0};
    case 0xdc: return {Token::kArray, 2, 0};
    case 0xdd: return {Token::kArray, 4, 0};
    case 0xde: return {Token::kMap, 2, 0};
    case 0xdf: return {Token::kMap, 4, 0};
    default: return {Token::kForbidden, 0, 0};  // 0xc1, bin, ext, fixext
  }
}

// An open container: how many values it still holds (a map's pairs count
// twice, key then value, so a key is due whenever the count is even).
struct Level {
  uint64_t remaining;
  bool is_map;
};

// Walks the whole message once, iteratively, enforcing every limit listed
// in the header. Invariant: stack.size() <= kMaxControlDepth.
Status Scan(const uint8_t* data, size_t size) {
  Reader in(data, size);
  std::vector<Level> stack;
  stack.reserve(kMaxControlDepth);
  size_t elements = 0;
  bool top = true;
  do {
    bool is_key = !stack.empty() && stack.back().is_map && stack.back().remaining % 2 == 0;
    if (!stack.empty()) stack.back().remaining--;
    if (++elements > kMaxControlElements) {
      return Malformed("more than " + std::to_string(kMaxControlElements) + " values");
    }
    uint8_t type;
    if (!in.Byte(&type)) return Malformed("truncated");
    Token token = Classify(type);
    if (token.kind == Token::kForbidden) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02x", type);
      return Malformed(std::string("msgpack type ") + hex +
                       " is not allowed (control messages hold no binary or extension values)");
    }
    if (top && token.kind != Token::kMap) return Malformed("not a msgpack map");
    if (is_key && token.kind != Token::kString) return Malformed("a map key is not a string");
    top = false;
    uint64_t count = token.inline_count;
    if (token.kind != Token::kScalar && token.size_bytes > 0 &&
        !in.BigEndian(token.size_bytes, &count)) {
      return Malformed("truncated");
    }
    const uint8_t* payload = nullptr;
    switch (token.kind) {
      case Token::kScalar:
        if (!in.Take(token.size_bytes, &payload)) return Malformed("truncated");
        break;
      case Token::kString:
        if (!in.Take(count, &payload)) return Malformed("a string is longer than the message");
        if (!IsUtf8(payload, count)) return Malformed("a string is not valid UTF-8");
        break;
      case Token::kArray:
      case Token::kMap: {
        bool is_map = token.kind == Token::kMap;
        uint64_t values = is_map ? count * 2 : count;  // count < 2^32: no overflow
        // Every value takes at least one byte: a larger count is a lie.
        if (values > in.left()) return Malformed("a container declares more values than bytes");
        // An empty container counts as a level too: it is one for nlohmann.
        if (stack.size() >= kMaxControlDepth) {
          return Malformed("nested deeper than " + std::to_string(kMaxControlDepth) + " levels");
        }
        if (values == 0) break;
        stack.push_back({values, is_map});
        break;
      }
      case Token::kForbidden:
        break;  // refused above
    }
    while (!stack.empty() && stack.back().remaining == 0) stack.pop_back();
  } while (!stack.empty());
  if (in.left() != 0) return Malformed(std::to_string(in.left()) + " bytes after the message");
  return Status::Ok();
}

}  // namespace

Result<nlohmann::json> DecodeControlMessage(const void* data, size_t size) {
  if (size > kMaxControlMessageBytes) {
    return Status::Error("control message of " + std::to_string(size) + " bytes exceeds the " +
                             std::to_string(kMaxControlMessageBytes) + "-byte limit",
                         EMSGSIZE);
  }
  if (size == 0 || data == nullptr) return Malformed("empty");
  const auto* bytes = static_cast<const uint8_t*>(data);
  Status scanned = Scan(bytes, size);
  if (!scanned.ok()) return scanned;
  try {
    // The scan bounds nlohmann's recursion and allocations; without
    // exceptions a parse failure comes back as a discarded value.
    nlohmann::json value = nlohmann::json::from_msgpack(bytes, bytes + size, true, false);
    if (value.is_discarded() || !value.is_object()) return Malformed("not a msgpack map");
    return value;
  } catch (const std::exception& e) {
    return Malformed(e.what());
  }
}

std::vector<uint8_t> EncodeControlMessage(const nlohmann::json& value) {
  return nlohmann::json::to_msgpack(value);
}

}  // namespace rvg
