// The msgpack plumbing shared by the RLINK message codecs (messages.cpp,
// compare_messages.cpp): a packer for header maps and a defensive reader
// of their fields. Internal to net/; the wire format itself is specified in
// doc/wire-protocol.md.
#pragma once

#include <fmt/format.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include <msgpack.hpp>

#include "core/generation_history.h"
#include "core/status.h"
#include "core/text.h"
#include "net/messages.h"

namespace rvg::msg_codec {

// Bounds on decoded values. They keep a hostile or broken peer from making
// the receiver allocate much, and make every accepted value printable.
constexpr size_t kMaxStringBytes = 256;  // uuid, generation, reject reason
constexpr size_t kMaxNameBytes = 64;     // rvg, rlink and volume names
constexpr size_t kMaxVolumes = 1024;

// Bounds handed to msgpack::unpack. The parser reserves room for an array or
// map's declared element count before it reads the elements, so these caps
// (not the frame size) are what bound its allocations. They are loose enough
// that our own checks, with their clearer messages, catch legal-looking but
// out-of-range values first (1025 volumes, a 300-byte uuid).
constexpr size_t kUnpackMaxArray = 4 * kMaxVolumes;
constexpr size_t kUnpackMaxMap = 64;
constexpr size_t kUnpackMaxStr = 4 * kMaxStringBytes;
constexpr size_t kUnpackMaxBin = 4 * kMaxStringBytes;
constexpr size_t kUnpackMaxExt = 4 * kMaxStringBytes;
constexpr size_t kUnpackMaxDepth = 8;

using Packer = msgpack::packer<msgpack::sbuffer>;

// A reason (REJECT, HANDED) longer than the decoder accepts would make the
// whole message undecodable -- the peer would see no answer at all -- so it
// is cut to kMaxStringBytes, backing off to a UTF-8 character boundary.
inline std::string_view ClipReason(const std::string& reason) {
  if (reason.size() <= kMaxStringBytes) return reason;
  size_t n = kMaxStringBytes;
  while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
  return std::string_view(reason.data(), n);
}

inline void PackStr(Packer& packer, std::string_view s) {
  packer.pack_str(static_cast<uint32_t>(s.size()));
  packer.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

// Packs one header map. The map's entry count must be declared before the
// entries, so each encoder states how many fields it adds; Finish() checks
// the promise was kept, since a miscount would produce a frame that every
// peer rejects.
class HeaderPacker {
 public:
  HeaderPacker(MsgType type, uint32_t field_count)
      : buffer_(kInitialBytes), packer_(buffer_), declared_(field_count + 2) {
    packer_.pack_map(declared_);
    Uint("t", static_cast<uint64_t>(type));
    Uint("v", kProtocolVersion);
  }

  void Uint(std::string_view key, uint64_t value) {
    Key(key);
    packer_.pack_uint64(value);  // msgpack-cxx picks the shortest encoding
  }
  void Str(std::string_view key, std::string_view value) {
    Key(key);
    PackStr(packer_, value);
  }
  void Bool(std::string_view key, bool value) {
    Key(key);
    value ? packer_.pack_true() : packer_.pack_false();
  }
  // The caller packs the array's elements through packer() right after.
  void ArrayStart(std::string_view key, uint32_t count) {
    Key(key);
    packer_.pack_array(count);
  }
  Packer& packer() { return packer_; }

  std::string Finish() {
    assert(written_ == declared_);
    return std::string(buffer_.data(), buffer_.size());
  }

 private:
  // Enough for every message but a HELLO with many volumes, so the common
  // encoders allocate once for the buffer and once for the result.
  static constexpr size_t kInitialBytes = 160;

  void Key(std::string_view key) {
    ++written_;
    PackStr(packer_, key);
  }

  msgpack::sbuffer buffer_;
  Packer packer_;
  uint32_t declared_;
  uint32_t written_ = 0;
};

inline const char* ObjectTypeName(msgpack::type::object_type type) {
  switch (type) {
    case msgpack::type::NIL: return "nil";
    case msgpack::type::BOOLEAN: return "boolean";
    case msgpack::type::POSITIVE_INTEGER: return "unsigned integer";
    case msgpack::type::NEGATIVE_INTEGER: return "negative integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return "float";
    case msgpack::type::STR: return "string";
    case msgpack::type::BIN: return "binary";
    case msgpack::type::ARRAY: return "array";
    case msgpack::type::MAP: return "map";
    case msgpack::type::EXT: return "ext";
  }
  return "unknown";
}

// Reads typed fields out of one msgpack map. The first problem is kept as
// the error and later reads return zero values, so a parser reads every
// field and checks ok() once at the end.
class FieldReader {
 public:
  // `where` names the map in messages: "WRITE", "HELLO vols[3]".
  FieldReader(const msgpack::object_map& map, std::string where)
      : map_(map), where_(std::move(where)) {}

  void set_where(std::string where) { where_ = std::move(where); }
  bool ok() const { return error_.empty(); }
  Status status() const { return Status::Error(error_, EPROTO); }

  void Fail(const std::string& problem) {
    if (ok()) error_ = fmt::format("malformed {}: {}", where_, problem);
  }

  uint64_t Uint(const char* key, uint64_t max = UINT64_MAX) {
    const msgpack::object* value = Find(key, msgpack::type::POSITIVE_INTEGER);
    if (value == nullptr) return 0;
    if (value->via.u64 > max) {
      Fail(fmt::format("key \"{}\" value {} exceeds the maximum {}", key, value->via.u64, max));
      return 0;
    }
    return value->via.u64;
  }
  uint32_t Uint32(const char* key) { return static_cast<uint32_t>(Uint(key, UINT32_MAX)); }

  std::string String(const char* key, size_t max_bytes) {
    const msgpack::object* value = Find(key, msgpack::type::STR);
    if (value == nullptr) return std::string();
    if (value->via.str.size > max_bytes) {
      Fail(fmt::format("key \"{}\" is {} bytes long, at most {} allowed", key,
                       value->via.str.size, max_bytes));
      return std::string();
    }
    std::string text(value->via.str.ptr, value->via.str.size);
    // Every string of a message ends up in a log line or in status output
    // (and ValidateWrite's errors quote the uuid and generation): a newline
    // or an escape sequence from a peer must not get that far.
    if (!IsPrintableUtf8(text)) {
      Fail(fmt::format("key \"{}\" is not printable UTF-8", key));
      return std::string();
    }
    return text;
  }
  // A name must also be non-empty: it names a file or an object an
  // administrator refers to.
  std::string Name(const char* key) {
    std::string name = String(key, kMaxNameBytes);
    if (ok() && name.empty()) Fail(fmt::format("key \"{}\" is empty", key));
    return name;
  }

  bool Bool(const char* key) {
    const msgpack::object* value = Find(key, msgpack::type::BOOLEAN);
    return value != nullptr && value->via.boolean;
  }
  // A key added without a version bump: `absent` when missing, otherwise
  // held to the rules of a required one.
  bool OptionalBool(const char* key, bool absent) {
    return Lookup(key).second == 0 ? absent : Bool(key);
  }
  uint64_t OptionalUint(const char* key, uint64_t absent) {
    return Lookup(key).second == 0 ? absent : Uint(key);
  }
  bool Has(const char* key) const { return Lookup(key).second != 0; }

  const msgpack::object_array* Array(const char* key) {
    const msgpack::object* value = Find(key, msgpack::type::ARRAY);
    return value == nullptr ? nullptr : &value->via.array;
  }

  // Session ids are how a secondary tells its current session from stale
  // traffic, so 0 (never chosen by a primary) is refused.
  uint64_t SessionId() {
    uint64_t sid = Uint("sid");
    if (ok() && sid == 0) Fail("key \"sid\" is 0; session ids are non-zero");
    return sid;
  }

 private:
  // The value of the first entry whose key is `key`, and how many entries
  // have that key. Keys that are not strings are unknown keys like any
  // other and are skipped.
  std::pair<const msgpack::object*, int> Lookup(const char* key) const {
    const size_t key_size = std::strlen(key);
    std::pair<const msgpack::object*, int> found{nullptr, 0};
    for (uint32_t i = 0; i < map_.size; ++i) {
      const msgpack::object& k = map_.ptr[i].key;
      if (k.type == msgpack::type::STR && k.via.str.size == key_size &&
          std::memcmp(k.via.str.ptr, key, key_size) == 0 && found.second++ == 0) {
        found.first = &map_.ptr[i].val;
      }
    }
    return found;
  }

  // The value of `key` if present exactly once with the expected type;
  // otherwise records the problem and returns null.
  const msgpack::object* Find(const char* key, msgpack::type::object_type expected) {
    if (!ok()) return nullptr;
    const auto [found, count] = Lookup(key);
    if (count > 1) {
      Fail(fmt::format("key \"{}\" appears more than once", key));
      return nullptr;
    }
    if (found == nullptr) {
      Fail(fmt::format("key \"{}\" missing", key));
      return nullptr;
    }
    if (found->type != expected) {
      Fail(fmt::format("key \"{}\" must be {}, got {}", key, ObjectTypeName(expected),
                       ObjectTypeName(found->type)));
      return nullptr;
    }
    return found;
  }

  const msgpack::object_map& map_;
  std::string where_;
  std::string error_;
};

// Parsers of the comparison messages (compare_messages.cpp), called by
// DecodeHeader's dispatch.
Result<Message> ParseCompare(FieldReader& r);
Result<Message> ParseCompared(FieldReader& r);
Result<Message> ParseDirty(FieldReader& r);  // history_codec.cpp
Result<Message> ParseHandover(FieldReader& r);  // handover_codec.cpp
Result<Message> ParseHanded(FieldReader& r);    // handover_codec.cpp

// A generation history under `key` (history_codec.cpp): written trimmed
// to its newest kMaxHistoryEntries, read back checked by CheckHistory. An
// optional key that is absent reads as an empty history.
void PackHistory(HeaderPacker& p, std::string_view key, const GenerationHistory& history);
GenerationHistory ReadHistory(FieldReader& r, const char* key, bool optional);

}  // namespace rvg::msg_codec
