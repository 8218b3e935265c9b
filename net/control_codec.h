// The control channel's message codec: one control message is one msgpack
// map (requests from rvgadm, replies from rvgd), decoded into a
// nlohmann::json object.
//
// Decoding never trusts its input. nlohmann::json::from_msgpack recurses
// once per nesting level, so a few hundred KB of nested arrays overflow the
// stack; it also builds whatever the declared element counts ask for.
// DecodeControlMessage therefore first walks the msgpack structure without
// recursion and refuses, before anything is built:
//   - more than kMaxControlMessageBytes of input,
//   - nesting deeper than kMaxControlDepth (the outer map is level 1),
//   - more than kMaxControlElements values in total (keys count),
//   - a container or string that declares more than the bytes left,
//   - bin, ext and the reserved 0xc1 type (control messages are text),
//   - map keys that are not strings, strings that are not UTF-8,
//   - a top-level value that is not a map, or bytes after it.
// Only input that passes is handed to nlohmann, whose recursion is then
// bounded by the depth limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace rvg {

inline constexpr size_t kMaxControlMessageBytes = 1 << 20;
inline constexpr size_t kMaxControlDepth = 16;
inline constexpr size_t kMaxControlElements = 1 << 16;

// Decodes one control message (a msgpack map) with bounded nesting depth,
// element counts and size; never throws. The error says what was wrong
// (code EBADMSG, or EMSGSIZE for an oversized message).
Result<nlohmann::json> DecodeControlMessage(const void* data, size_t size);

// Encodes a control message; the inverse of DecodeControlMessage for any
// object within the limits.
std::vector<uint8_t> EncodeControlMessage(const nlohmann::json& value);

}  // namespace rvg
