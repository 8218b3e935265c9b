// Shared by the net/messages tests: sample messages of every type, decoding
// helpers, and msgpack editors that change one key of an encoded frame.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "core/crc32c.h"
#include "core/record.h"
#include "net/messages.h"

namespace rvg::messages_test {

inline constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

inline GenerationHistory SampleHistory() {
  GenerationHistory h;
  h.push_back(NextGeneration(h, "gen-1", 1, 1700000000));
  h.push_back(NextGeneration(h, "gen-7f3a", 1ULL << 40, -5));  // created_at is only for people
  return h;
}

inline DirtyMsg SampleDirty() { return {7, {{1, 0, 65536}, {0xffffffffu, kMax64 - 10, 10}}}; }
inline WelcomeMsg SampleFailbackWelcome();

inline HelloMsg SampleHello() {
  HelloMsg m;
  m.rvg_name = "datavg";
  m.rvg_uuid = "0f8e2c7a-3b1d-4c55-9a0e-6d2f1b7c9e41";
  m.generation = "gen-7f3a";
  m.rlink_name = "to_london";
  m.session_id = 0x1234567890abcdefULL;
  m.last_seq = kMax64;
  m.first_seq = 17;
  m.volumes = {{1, "db", 10ULL << 30}, {2, "logs", 4096}, {0xffffffffu, "x", kMax64}};
  m.host = "paris";
  m.history = SampleHistory();
  return m;
}
inline WelcomeMsg SampleWelcome() {
  return {"0f8e2c7a-uuid", "gen-7f3a", 99, 123456789012ULL, "london", SampleHistory()};
}
inline RejectMsg SampleReject() {
  RejectMsg m;
  m.session_id = 42;
  m.reason = "generation history diverged: split brain";
  m.retry = false;
  return m;
}
inline WelcomeMsg SampleFailbackWelcome() {
  WelcomeMsg m = SampleWelcome();
  m.fork_seq = 91;
  return m;
}
inline RejectMsg SampleHistoryReject() {
  RejectMsg m = SampleReject();
  m.history = SampleHistory();
  m.last_seq = 1ULL << 40;
  m.primary = true;
  return m;
}
inline WriteMsg SampleWrite() {
  return {"0f8e2c7a-uuid", "gen-7f3a", 7, 1ULL << 40, 3, kMax64 - 5, kMaxWriteBytes, 0xdeadbeef};
}
inline AckMsg SampleAck() { return {7, 1000, 990, 31}; }
inline NackMsg SampleNack() { return {7, 12, 15}; }
inline PingMsg SamplePing() { return {7, 1ULL << 33}; }
inline WriteMsg SampleRegion() {
  WriteMsg m = SampleWrite();
  m.region = true;
  m.seq = 5;  // the region's number in the session
  return m;
}
inline ResyncMsg SampleResyncEnd() { return {7, false, 1ULL << 35, 1ULL << 20}; }

inline WriteMsg SampleLazyWrite() {
  WriteMsg m = SampleWrite();
  m.waited = false;
  return m;
}

inline std::vector<std::string> SampleFrames() {
  return {Encode(SampleHello()), Encode(SampleWelcome()),   Encode(SampleReject()),
          Encode(SampleWrite()), Encode(SampleLazyWrite()), Encode(SampleAck()),
          Encode(SampleNack()),  Encode(SamplePing()),      Encode(SampleRegion()),
          Encode(SampleResyncEnd()), Encode(SampleHistoryReject()), Encode(SampleDirty()),
          Encode(SampleFailbackWelcome()), Encode(HandoverMsg{5, 77, "gen-7f3a", "/mnt/x"}),
          Encode(HandedMsg{5, true, "gen-8b", 78, "ok"})};
}

inline Result<Message> Decode(const std::string& frame) {
  return DecodeHeader(frame.data(), frame.size());
}

template <typename T>
T DecodeAs(const std::string& frame) {
  Result<Message> r = Decode(frame);
  INFO(r.status().message());
  REQUIRE(r.ok());
  REQUIRE(std::holds_alternative<T>(*r));
  return std::get<T>(*r);
}

// The error message of a frame that must be refused.
inline std::string DecodeError(const std::string& frame) {
  Result<Message> r = Decode(frame);
  REQUIRE_FALSE(r.ok());
  REQUIRE_FALSE(r.status().message().empty());
  REQUIRE(r.status().message().find('\n') == std::string::npos);
  return r.status().message();
}

inline void CheckEqual(const HelloMsg& a, const HelloMsg& b) {
  CHECK(a.rvg_name == b.rvg_name);
  CHECK(a.rvg_uuid == b.rvg_uuid);
  CHECK(a.generation == b.generation);
  CHECK(a.rlink_name == b.rlink_name);
  CHECK(a.session_id == b.session_id);
  CHECK(a.last_seq == b.last_seq);
  CHECK(a.first_seq == b.first_seq);
  REQUIRE(a.volumes.size() == b.volumes.size());
  for (size_t i = 0; i < a.volumes.size(); ++i) {
    CHECK(a.volumes[i].id == b.volumes[i].id);
    CHECK(a.volumes[i].name == b.volumes[i].name);
    CHECK(a.volumes[i].size == b.volumes[i].size);
  }
}
inline void CheckEqual(const WriteMsg& a, const WriteMsg& b) {
  CHECK(a.rvg_uuid == b.rvg_uuid);
  CHECK(a.generation == b.generation);
  CHECK(a.session_id == b.session_id);
  CHECK(a.seq == b.seq);
  CHECK(a.volume == b.volume);
  CHECK(a.offset == b.offset);
  CHECK(a.length == b.length);
  CHECK(a.data_crc == b.data_crc);
  CHECK(a.waited == b.waited);
}

// --- Building hostile frames: re-pack a valid frame with one key edited.

using Packer = msgpack::packer<msgpack::sbuffer>;
using PackValue = std::function<void(Packer&)>;

inline bool IsKey(const msgpack::object& o, const std::string& key) {
  return o.type == msgpack::type::STR && std::string(o.via.str.ptr, o.via.str.size) == key;
}

inline std::string ToString(const msgpack::sbuffer& buffer) {
  return std::string(buffer.data(), buffer.size());
}

// Packs `map` with the value of `key` replaced by `value`, or the key removed
// when `value` is empty; `key` is added when absent.
inline void PackEdited(Packer& pk, const msgpack::object& map, const std::string& key,
                const PackValue& value) {
  uint32_t count = 0;
  bool found = false;
  for (uint32_t i = 0; i < map.via.map.size; ++i) {
    if (IsKey(map.via.map.ptr[i].key, key)) found = true; else ++count;
  }
  if (value) ++count;
  pk.pack_map(count);
  for (uint32_t i = 0; i < map.via.map.size; ++i) {
    const msgpack::object_kv& kv = map.via.map.ptr[i];
    if (!IsKey(kv.key, key)) {
      pk.pack(kv.key);
      pk.pack(kv.val);
    } else if (value) {
      pk.pack(key);
      value(pk);
    }
  }
  if (!found && value) {
    pk.pack(key);
    value(pk);
  }
}

inline std::string EditKey(const std::string& frame, const std::string& key,
                           const PackValue& value) {
  msgpack::object_handle h = msgpack::unpack(frame.data(), frame.size());
  msgpack::sbuffer out;
  Packer pk(out);
  PackEdited(pk, h.get(), key, value);
  return ToString(out);
}

// The same edit inside the first entry of a HELLO's "vols".
inline std::string EditVolumeKey(const std::string& frame, const std::string& key,
                                 const PackValue& value) {
  msgpack::object_handle h = msgpack::unpack(frame.data(), frame.size());
  const msgpack::object_map& map = h.get().via.map;
  msgpack::sbuffer out;
  Packer pk(out);
  pk.pack_map(map.size);
  for (uint32_t i = 0; i < map.size; ++i) {
    pk.pack(map.ptr[i].key);
    if (!IsKey(map.ptr[i].key, "vols")) {
      pk.pack(map.ptr[i].val);
      continue;
    }
    const msgpack::object_array& vols = map.ptr[i].val.via.array;
    pk.pack_array(vols.size);
    PackEdited(pk, vols.ptr[0], key, value);
    for (uint32_t v = 1; v < vols.size; ++v) pk.pack(vols.ptr[v]);
  }
  return ToString(out);
}

// Appends key/value after the existing entries, even if the key exists.
inline std::string AppendEntry(const std::string& frame, const PackValue& key,
                               const PackValue& value) {
  msgpack::object_handle h = msgpack::unpack(frame.data(), frame.size());
  const msgpack::object_map& map = h.get().via.map;
  msgpack::sbuffer out;
  Packer pk(out);
  pk.pack_map(map.size + 1);
  for (uint32_t i = 0; i < map.size; ++i) pk.pack(map.ptr[i].key).pack(map.ptr[i].val);
  key(pk);
  value(pk);
  return ToString(out);
}

inline PackValue Uint(uint64_t v) { return [v](Packer& pk) { pk.pack_uint64(v); }; }
inline PackValue Str(std::string s) { return [s](Packer& pk) { pk.pack(s); }; }

inline std::string AppendKey(const std::string& frame, const std::string& key,
                             const PackValue& value) {
  return AppendEntry(frame, Str(key), value);
}

// Values of the wrong type for a key whose valid value has type `type`.
inline std::vector<PackValue> WrongValuesFor(msgpack::type::object_type type) {
  std::vector<PackValue> wrong = {[](Packer& pk) { pk.pack_nil(); },
                                  [](Packer& pk) { pk.pack_double(1.5); },
                                  [](Packer& pk) { pk.pack_map(0); }};
  if (type != msgpack::type::POSITIVE_INTEGER) wrong.push_back(Uint(7));
  if (type == msgpack::type::POSITIVE_INTEGER)
    wrong.push_back([](Packer& pk) { pk.pack_int64(-1); });
  if (type != msgpack::type::STR) wrong.push_back(Str("7"));
  if (type == msgpack::type::STR)
    wrong.push_back([](Packer& pk) { pk.pack_bin(3).pack_bin_body("abc", 3); });
  if (type != msgpack::type::BOOLEAN) wrong.push_back([](Packer& pk) { pk.pack_true(); });
  if (type != msgpack::type::ARRAY) wrong.push_back([](Packer& pk) { pk.pack_array(0); });
  return wrong;
}

// Keys a reader takes as absent when missing: "wait" (added without a
// version bump), and a REJECT's history fields.
inline bool OptionalKey(const std::string& key, bool reject) {
  if (key == "wait" || key == "fork") return true;
  return reject && (key == "hist" || key == "last" || key == "prim");
}

// Checks that removing (unless optional) and mistyping every key of `map`
// (reached through `edit`) is refused with a message naming the key.
inline void CheckEveryKeyRequiredAndTyped(
    const msgpack::object& map,
    const std::function<std::string(const std::string&, const PackValue&)>& edit,
    bool reject = false) {
  for (uint32_t i = 0; i < map.via.map.size; ++i) {
    const msgpack::object_kv& kv = map.via.map.ptr[i];
    const std::string key(kv.key.via.str.ptr, kv.key.via.str.size);
    INFO("key " << key);
    if (!OptionalKey(key, reject)) {
      CHECK_THAT(DecodeError(edit(key, nullptr)), Catch::Contains("key \"" + key + "\" missing"));
    }
    for (const PackValue& wrong : WrongValuesFor(kv.val.type)) {
      CHECK_THAT(DecodeError(edit(key, wrong)), Catch::Contains("key \"" + key + "\""));
    }
  }
}

}  // namespace rvg::messages_test
