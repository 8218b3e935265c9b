// Tests for net/messages: every message survives a round trip, and no byte
// sequence a peer can send makes DecodeHeader crash, throw or accept garbage.
#include "net/messages.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "core/crc32c.h"
#include "core/record.h"

namespace rvg {
namespace {

constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

GenerationHistory SampleHistory() {
  GenerationHistory h;
  h.push_back(NextGeneration(h, "gen-1", 1, 1700000000));
  h.push_back(NextGeneration(h, "gen-7f3a", 1ULL << 40, -5));  // created_at is only for people
  return h;
}

DirtyMsg SampleDirty() { return {7, {{1, 0, 65536}, {0xffffffffu, kMax64 - 10, 10}}}; }
WelcomeMsg SampleFailbackWelcome();

HelloMsg SampleHello() {
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
WelcomeMsg SampleWelcome() {
  return {"0f8e2c7a-uuid", "gen-7f3a", 99, 123456789012ULL, "london", SampleHistory()};
}
RejectMsg SampleReject() {
  RejectMsg m;
  m.session_id = 42;
  m.reason = "generation history diverged: split brain";
  m.retry = false;
  return m;
}
WelcomeMsg SampleFailbackWelcome() {
  WelcomeMsg m = SampleWelcome();
  m.fork_seq = 91;
  return m;
}
RejectMsg SampleHistoryReject() {
  RejectMsg m = SampleReject();
  m.history = SampleHistory();
  m.last_seq = 1ULL << 40;
  m.primary = true;
  return m;
}
WriteMsg SampleWrite() {
  return {"0f8e2c7a-uuid", "gen-7f3a", 7, 1ULL << 40, 3, kMax64 - 5, kMaxWriteBytes, 0xdeadbeef};
}
AckMsg SampleAck() { return {7, 1000, 990, 31}; }
NackMsg SampleNack() { return {7, 12, 15}; }
PingMsg SamplePing() { return {7, 1ULL << 33}; }
WriteMsg SampleRegion() {
  WriteMsg m = SampleWrite();
  m.region = true;
  m.seq = 5;  // the region's number in the session
  return m;
}
ResyncMsg SampleResyncEnd() { return {7, false, 1ULL << 35, 1ULL << 20}; }

WriteMsg SampleLazyWrite() {
  WriteMsg m = SampleWrite();
  m.waited = false;
  return m;
}

std::vector<std::string> SampleFrames() {
  return {Encode(SampleHello()), Encode(SampleWelcome()),   Encode(SampleReject()),
          Encode(SampleWrite()), Encode(SampleLazyWrite()), Encode(SampleAck()),
          Encode(SampleNack()),  Encode(SamplePing()),      Encode(SampleRegion()),
          Encode(SampleResyncEnd()), Encode(SampleHistoryReject()), Encode(SampleDirty()),
          Encode(SampleFailbackWelcome())};
}

Result<Message> Decode(const std::string& frame) { return DecodeHeader(frame.data(), frame.size()); }

template <typename T>
T DecodeAs(const std::string& frame) {
  Result<Message> r = Decode(frame);
  INFO(r.status().message());
  REQUIRE(r.ok());
  REQUIRE(std::holds_alternative<T>(*r));
  return std::get<T>(*r);
}

// The error message of a frame that must be refused.
std::string DecodeError(const std::string& frame) {
  Result<Message> r = Decode(frame);
  REQUIRE_FALSE(r.ok());
  REQUIRE_FALSE(r.status().message().empty());
  REQUIRE(r.status().message().find('\n') == std::string::npos);
  return r.status().message();
}

void CheckEqual(const HelloMsg& a, const HelloMsg& b) {
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
void CheckEqual(const WriteMsg& a, const WriteMsg& b) {
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

bool IsKey(const msgpack::object& o, const std::string& key) {
  return o.type == msgpack::type::STR && std::string(o.via.str.ptr, o.via.str.size) == key;
}

std::string ToString(const msgpack::sbuffer& buffer) { return std::string(buffer.data(), buffer.size()); }

// Packs `map` with the value of `key` replaced by `value`, or the key removed
// when `value` is empty; `key` is added when absent.
void PackEdited(Packer& pk, const msgpack::object& map, const std::string& key,
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

std::string EditKey(const std::string& frame, const std::string& key, const PackValue& value) {
  msgpack::object_handle h = msgpack::unpack(frame.data(), frame.size());
  msgpack::sbuffer out;
  Packer pk(out);
  PackEdited(pk, h.get(), key, value);
  return ToString(out);
}

// The same edit inside the first entry of a HELLO's "vols".
std::string EditVolumeKey(const std::string& frame, const std::string& key, const PackValue& value) {
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
std::string AppendEntry(const std::string& frame, const PackValue& key, const PackValue& value) {
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

PackValue Uint(uint64_t v) { return [v](Packer& pk) { pk.pack_uint64(v); }; }
PackValue Str(std::string s) { return [s](Packer& pk) { pk.pack(s); }; }

std::string AppendKey(const std::string& frame, const std::string& key, const PackValue& value) {
  return AppendEntry(frame, Str(key), value);
}

// Values of the wrong type for a key whose valid value has type `type`.
std::vector<PackValue> WrongValuesFor(msgpack::type::object_type type) {
  std::vector<PackValue> wrong = {[](Packer& pk) { pk.pack_nil(); },
                                  [](Packer& pk) { pk.pack_double(1.5); },
                                  [](Packer& pk) { pk.pack_map(0); }};
  if (type != msgpack::type::POSITIVE_INTEGER) wrong.push_back(Uint(7));
  if (type == msgpack::type::POSITIVE_INTEGER) wrong.push_back([](Packer& pk) { pk.pack_int64(-1); });
  if (type != msgpack::type::STR) wrong.push_back(Str("7"));
  if (type == msgpack::type::STR) wrong.push_back([](Packer& pk) { pk.pack_bin(3).pack_bin_body("abc", 3); });
  if (type != msgpack::type::BOOLEAN) wrong.push_back([](Packer& pk) { pk.pack_true(); });
  if (type != msgpack::type::ARRAY) wrong.push_back([](Packer& pk) { pk.pack_array(0); });
  return wrong;
}

// Keys a reader takes as absent when missing: "wait" (added without a
// version bump), and a REJECT's history fields.
bool OptionalKey(const std::string& key, bool reject) {
  if (key == "wait" || key == "fork") return true;
  return reject && (key == "hist" || key == "last" || key == "prim");
}

// Checks that removing (unless optional) and mistyping every key of `map`
// (reached through `edit`) is refused with a message naming the key.
void CheckEveryKeyRequiredAndTyped(
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

TEST_CASE("every message type survives a round trip", "[messages]") {
  CheckEqual(DecodeAs<HelloMsg>(Encode(SampleHello())), SampleHello());

  HelloMsg no_volumes = SampleHello();
  no_volumes.volumes.clear();
  CheckEqual(DecodeAs<HelloMsg>(Encode(no_volumes)), no_volumes);

  WelcomeMsg welcome = DecodeAs<WelcomeMsg>(Encode(SampleWelcome()));
  CHECK(welcome.rvg_uuid == SampleWelcome().rvg_uuid);
  CHECK(welcome.generation == SampleWelcome().generation);
  CHECK(welcome.session_id == SampleWelcome().session_id);
  CHECK(welcome.applied_seq == SampleWelcome().applied_seq);

  for (bool retry : {false, true}) {
    RejectMsg sent = SampleReject();
    sent.retry = retry;
    sent.session_id = retry ? 0 : 42;  // 0: refused before any session existed
    RejectMsg got = DecodeAs<RejectMsg>(Encode(sent));
    CHECK(got.session_id == sent.session_id);
    CHECK(got.reason == sent.reason);
    CHECK(got.retry == retry);
  }

  CheckEqual(DecodeAs<WriteMsg>(Encode(SampleWrite())), SampleWrite());

  AckMsg ack = DecodeAs<AckMsg>(Encode(SampleAck()));
  CHECK(ack.session_id == 7);
  CHECK(ack.received_seq == 1000);
  CHECK(ack.applied_seq == 990);
  CHECK(ack.regions_done == 31);

  // A REGION is a WRITE of another type: it must not decode as a WRITE.
  WriteMsg region = DecodeAs<WriteMsg>(Encode(SampleRegion()));
  CHECK(region.region);
  CheckEqual(region, SampleRegion());
  CHECK_FALSE(DecodeAs<WriteMsg>(Encode(SampleWrite())).region);

  for (const ResyncMsg& sent : {SampleResyncEnd(), ResyncMsg{9, true, 77, 0}}) {
    ResyncMsg got = DecodeAs<ResyncMsg>(Encode(sent));
    CHECK(got == sent);
  }

  NackMsg nack = DecodeAs<NackMsg>(Encode(SampleNack()));
  CHECK(nack.session_id == 7);
  CHECK(nack.from_seq == 12);
  CHECK(nack.to_seq == 15);

  PingMsg ping = DecodeAs<PingMsg>(Encode(SamplePing()));
  CHECK(ping.session_id == 7);
  CHECK(ping.last_seq == 1ULL << 33);
}

TEST_CASE("a WRITE says whether the primary waits for its data ack; absent means it does",
          "[messages]") {
  for (bool waited : {false, true}) {
    WriteMsg m = SampleWrite();
    m.waited = waited;
    CHECK(DecodeAs<WriteMsg>(Encode(m)) == m);
    m.region = true;
    CHECK(DecodeAs<WriteMsg>(Encode(m)) == m);
  }
  // Sent only when false; without it (a primary from before the key) the
  // secondary syncs at once.
  CHECK(Encode(SampleLazyWrite()).size() > Encode(SampleWrite()).size());
  const std::string without = EditKey(Encode(SampleLazyWrite()), "wait", nullptr);
  CHECK(DecodeAs<WriteMsg>(without).waited);
  CHECK_THAT(DecodeError(EditKey(Encode(SampleWrite()), "wait", Uint(0))),
             Catch::Contains("key \"wait\" must be boolean"));
}

TEST_CASE("a WRITE header is small", "[messages]") {
  // It travels with every write; 36-byte uuids and max-width numbers still fit in 160 bytes.
  WriteMsg m = SampleWrite();
  m.rvg_uuid = std::string(36, 'u');
  m.generation = std::string(36, 'g');
  m.session_id = m.seq = kMax64;
  CHECK(Encode(m).size() < 160);
}

TEST_CASE("a long REJECT reason is clipped on a UTF-8 boundary, not made undecodable", "[messages]") {
  RejectMsg m;
  m.session_id = 1;
  for (int i = 0; i < 100; ++i) m.reason += "\xe2\x82\xac";  // 300 bytes of 3-byte characters
  RejectMsg got = DecodeAs<RejectMsg>(Encode(m));
  CHECK(got.reason.size() == 255);
  CHECK(m.reason.compare(0, 255, got.reason) == 0);
}

TEST_CASE("unknown keys are ignored", "[messages]") {
  std::string frame = AppendKey(Encode(SampleWrite()), "future", Str("something"));
  frame = AppendKey(frame, "nested", [](Packer& pk) {
    pk.pack_array(2);
    pk.pack_map(1);
    pk.pack("k");
    pk.pack_nil();
    pk.pack(-5);
  });
  CheckEqual(DecodeAs<WriteMsg>(frame), SampleWrite());
  // A key that is not a string is an unknown key like any other.
  CheckEqual(DecodeAs<WriteMsg>(AppendEntry(Encode(SampleWrite()), Uint(5), Str("x"))),
             SampleWrite());
}

TEST_CASE("truncated frames are refused at every length", "[messages]") {
  for (const std::string& frame : SampleFrames()) {
    for (size_t n = 0; n < frame.size(); ++n) {
      INFO("frame of " << frame.size() << " bytes cut to " << n);
      Result<Message> r = DecodeHeader(frame.data(), n);
      REQUIRE_FALSE(r.ok());
      if (n > 0) CHECK_THAT(r.status().message(), Catch::Contains("truncated"));
    }
  }
}

TEST_CASE("random garbage never crashes and is refused", "[messages]") {
  for (uint32_t seed = 1; seed <= 3000; ++seed) {
    std::mt19937_64 rng(seed);
    std::string bytes(rng() % 600, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    // Half the inputs start like a map so the parser goes deeper.
    if (seed % 2 == 0 && !bytes.empty()) bytes[0] = static_cast<char>(0x80 | (rng() % 16));
    INFO("seed " << seed);
    DecodeError(bytes);
  }
}

TEST_CASE("mutated valid frames never crash", "[messages]") {
  for (const std::string& original : SampleFrames()) {
    for (uint32_t seed = 1; seed <= 500; ++seed) {
      std::mt19937_64 rng(seed);
      std::string frame = original;
      for (int flips = 1 + rng() % 4; flips > 0; --flips) {
        frame[rng() % frame.size()] = static_cast<char>(rng());
      }
      Result<Message> r = Decode(frame);
      // Whatever decoded must encode back into something that decodes.
      if (r.ok()) std::visit([](const auto& m) { REQUIRE(Decode(Encode(m)).ok()); }, *r);
    }
  }
}

TEST_CASE("every key is required and must have its type", "[messages]") {
  for (const std::string& frame : SampleFrames()) {
    msgpack::object_handle h = msgpack::unpack(frame.data(), frame.size());
    const bool reject = std::holds_alternative<RejectMsg>(*Decode(frame));
    CheckEveryKeyRequiredAndTyped(
        h.get(), [&frame](const std::string& key, const PackValue& v) { return EditKey(frame, key, v); },
        reject);
  }
  const std::string hello = Encode(SampleHello());
  msgpack::object_handle h = msgpack::unpack(hello.data(), hello.size());
  const msgpack::object_map& top = h.get().via.map;
  const msgpack::object* vols = nullptr;
  for (uint32_t i = 0; i < top.size; ++i) {
    if (IsKey(top.ptr[i].key, "vols")) vols = &top.ptr[i].val;
  }
  REQUIRE(vols != nullptr);
  const msgpack::object& first_volume = vols->via.array.ptr[0];
  CheckEveryKeyRequiredAndTyped(first_volume, [&hello](const std::string& key, const PackValue& v) {
    return EditVolumeKey(hello, key, v);
  });
  CHECK_THAT(DecodeError(EditKey(hello, "vols", [](Packer& pk) { pk.pack_array(1).pack(5); })),
             Catch::Contains("vols[0] must be a map"));
}

TEST_CASE("integers must fit the field they go into", "[messages]") {
  const std::string write = Encode(SampleWrite());
  for (const char* key : {"vol", "len", "crc"}) {
    INFO(key);
    CHECK_THAT(DecodeError(EditKey(write, key, Uint(1ULL << 32))),
               Catch::Contains(std::string("key \"") + key + "\" value 4294967296 exceeds"));
  }
  CHECK_THAT(DecodeError(EditVolumeKey(Encode(SampleHello()), "id", Uint(1ULL << 32))),
             Catch::Contains("malformed HELLO vols[0]: key \"id\" value 4294967296 exceeds"));
}

TEST_CASE("strings, names and volume lists are bounded", "[messages]") {
  HelloMsg m = SampleHello();
  m.rvg_uuid = std::string(256, 'u');
  m.rvg_name = std::string(64, 'n');
  m.volumes[0].name = std::string(64, 'v');
  CheckEqual(DecodeAs<HelloMsg>(Encode(m)), m);

  const std::string hello = Encode(SampleHello());
  CHECK_THAT(DecodeError(EditKey(hello, "uuid", Str(std::string(257, 'u')))),
             Catch::Contains("malformed HELLO: key \"uuid\" is 257 bytes long, at most 256"));
  CHECK_THAT(DecodeError(EditKey(hello, "rvg", Str(std::string(65, 'n')))),
             Catch::Contains("key \"rvg\" is 65 bytes long, at most 64"));
  CHECK_THAT(DecodeError(EditKey(hello, "rl", Str(""))), Catch::Contains("key \"rl\" is empty"));
  CHECK_THAT(DecodeError(EditVolumeKey(hello, "name", Str(std::string(65, 'v')))),
             Catch::Contains("malformed HELLO vols[0]: key \"name\" is 65 bytes long"));

  m = SampleHello();
  m.volumes.clear();
  // std::string("v") += ...: GCC 12 -O3 reports a false -Wrestrict on "literal" + std::string&&.
  for (uint32_t id = 1; id <= 1024; ++id) m.volumes.push_back({id, std::string("v") += std::to_string(id), 4096});
  CheckEqual(DecodeAs<HelloMsg>(Encode(m)), m);
  m.volumes.push_back({1025, "one-too-many", 4096});
  CHECK_THAT(DecodeError(Encode(m)), Catch::Contains("1025 volumes listed, at most 1024"));

  m = SampleHello();
  m.volumes[2].id = m.volumes[0].id;
  CHECK_THAT(DecodeError(Encode(m)), Catch::Contains("volume id 1 listed more than once"));
}

// Found by tests/fuzz/fuzz_wire: a uuid with a newline came back inside
// ValidateWrite's error, which the secondary logs.
TEST_CASE("strings from a peer must be printable UTF-8", "[messages]") {
  const std::string write = Encode(SampleWrite());
  CHECK_THAT(DecodeError(EditKey(write, "uuid", Str("0f8e\nFAKE log line"))),
             Catch::Contains("malformed WRITE: key \"uuid\" is not printable UTF-8"));
  CHECK_THAT(DecodeError(EditKey(write, "gen", Str("gen\x1b[2J"))),
             Catch::Contains("key \"gen\" is not printable UTF-8"));
  const std::string hello = Encode(SampleHello());
  CHECK_THAT(DecodeError(EditKey(hello, "rvg", Str("data\xff"))),
             Catch::Contains("key \"rvg\" is not printable UTF-8"));
  CHECK_THAT(DecodeError(EditVolumeKey(hello, "name", Str("a\tb"))),
             Catch::Contains("malformed HELLO vols[0]: key \"name\" is not printable UTF-8"));
  CHECK_THAT(DecodeError(Encode(RejectMsg{0, "line one\nline two", true})),
             Catch::Contains("key \"why\" is not printable UTF-8"));

  HelloMsg m = SampleHello();
  m.rvg_name = "zürich-日本";
  CheckEqual(DecodeAs<HelloMsg>(Encode(m)), m);
}

TEST_CASE("a key given twice is refused", "[messages]") {
  CHECK_THAT(DecodeError(AppendKey(Encode(SampleWrite()), "seq", Uint(13))),
             Catch::Contains("malformed WRITE: key \"seq\" appears more than once"));
}

TEST_CASE("frames that are not one header map are refused", "[messages]") {
  const std::string write = Encode(SampleWrite());
  std::string big(kMaxHeaderBytes + 1, '\0');
  big.replace(0, write.size(), write);
  CHECK_THAT(DecodeError(big), Catch::Contains("65537 bytes, the limit is 65536"));
  CHECK_THAT(DecodeError(write + '\0'), Catch::Contains("1 byte(s) left over after the msgpack map"));
  CHECK_THAT(DecodeError(std::string("\x93\x01\x02\x03", 4)), Catch::Contains("top level is array"));
  CHECK_THAT(DecodeError(std::string("\xc1", 1)), Catch::Contains("not valid msgpack"));
  CHECK(DecodeHeader(nullptr, 0).status().message() == "malformed header: empty frame");

  // Declared sizes the parser would have to reserve memory for are capped.
  CHECK_THAT(DecodeError(AppendKey(write, "zz", [](Packer& pk) { pk.pack_array(0xffffffffu); })),
             Catch::Contains("exceeds the header limits"));
  CHECK_THAT(DecodeError(std::string("\xdf\xff\xff\xff\xff", 5)),
             Catch::Contains("exceeds the header limits"));
  CHECK_THAT(DecodeError(AppendKey(write, "zz", [](Packer& pk) {
               for (int i = 0; i < 20; ++i) pk.pack_array(1);
               pk.pack_nil();
             })),
             Catch::Contains("exceeds the header limits"));
}

TEST_CASE("type and version are checked first", "[messages]") {
  const std::string ping = Encode(SamplePing());
  CHECK(DecodeError(EditKey(ping, "v", Uint(1))) ==
        "peer speaks protocol version 1, this rvg speaks 4; run the same rvg release on both hosts");
  CHECK_THAT(DecodeError(EditKey(ping, "v", Uint(kMax64))),
             Catch::Contains("peer speaks protocol version 18446744073709551615"));
  CHECK(DecodeError(EditKey(ping, "t", Uint(99))) == "malformed header: unknown message type 99");
  CHECK_THAT(DecodeError(EditKey(ping, "t", Uint(0))), Catch::Contains("unknown message type 0"));
  CHECK(DecodeError(EditKey(ping, "t", nullptr)) == "malformed header: key \"t\" missing");
}

TEST_CASE("session ids must be non-zero except in REJECT", "[messages]") {
  HelloMsg hello = SampleHello();
  hello.session_id = 0;
  WelcomeMsg welcome = SampleWelcome();
  welcome.session_id = 0;
  WriteMsg write = SampleWrite();
  write.session_id = 0;
  for (const std::string& frame : {Encode(hello), Encode(welcome), Encode(write),
                                   Encode(AckMsg{0, 1, 1}), Encode(NackMsg{0, 1, 1}),
                                   Encode(PingMsg{0, 1})}) {
    CHECK_THAT(DecodeError(frame), Catch::Contains("key \"sid\" is 0"));
  }
  CHECK(DecodeAs<RejectMsg>(Encode(RejectMsg{0, "no such rvg", false})).session_id == 0);
}

TEST_CASE("NACK ranges must be forward and start at seq 1 or later", "[messages]") {
  CHECK(DecodeAs<NackMsg>(Encode(NackMsg{5, 9, 9})).to_seq == 9);
  CHECK(DecodeError(Encode(NackMsg{5, 10, 9})) == "malformed NACK: range 10..9 is backwards (from > to)");
  CHECK_THAT(DecodeError(Encode(NackMsg{5, 0, 9})), Catch::Contains("includes seq 0"));
  CHECK_THAT(DecodeError(Encode(NackMsg{5, 0, 0})), Catch::Contains("includes seq 0"));
}

TEST_CASE("WRITE length must be 1 byte to 1 MiB", "[messages]") {
  WriteMsg m = SampleWrite();
  m.length = 1;
  CHECK(DecodeAs<WriteMsg>(Encode(m)).length == 1);
  m.length = 0;
  CHECK(DecodeError(Encode(m)) == "malformed WRITE: length 0 is outside 1..1048576");
  m.length = kMaxWriteBytes + 1;
  CHECK(DecodeError(Encode(m)) == "malformed WRITE: length 1048577 is outside 1..1048576");
}

struct WriteFixture {
  std::string uuid = "0f8e2c7a-uuid";
  std::string generation = "gen-7f3a";
  uint64_t session = 7;
  std::vector<VolumeSpec> volumes = {{1, "db", "/img/db", 1 << 20}, {3, "logs", "/img/logs", 8192}};
  std::string data;
  WriteMsg m;

  WriteFixture() {
    for (int i = 0; i < 4096; ++i) data.push_back(static_cast<char>(i * 7));
    m = {uuid, generation, session, 12, 3, 4096, 4096, Crc32c(data.data(), data.size())};
  }
  Status Validate() const {
    return ValidateWrite(m, uuid, generation, session, volumes, data.data(), data.size());
  }
};

TEST_CASE("ValidateWrite accepts a good WRITE", "[messages]") {
  WriteFixture f;
  CHECK(f.Validate().ok());
  f.m.offset = 0;  // both ends of the volume
  CHECK(f.Validate().ok());
}

TEST_CASE("ValidateWrite refuses a WRITE that does not belong here", "[messages]") {
  WriteFixture f;
  f.m.rvg_uuid = "another-uuid";
  CHECK_THAT(f.Validate().message(), Catch::StartsWith("WRITE seq 12: rvg uuid another-uuid"));
  f = WriteFixture();
  f.m.generation = "gen-old";
  CHECK_THAT(f.Validate().message(), Catch::Contains("generation gen-old is not the current"));
  f = WriteFixture();
  f.m.session_id = 8;
  CHECK_THAT(f.Validate().message(), Catch::Contains("session 0x8 is not the current session 0x7"));
  f = WriteFixture();
  f.m.volume = 2;
  CHECK(f.Validate().message() == "WRITE seq 12 for volume 2: no such volume");
}

TEST_CASE("ValidateWrite refuses ranges outside the volume, overflow included", "[messages]") {
  WriteFixture f;
  f.m.offset = 4097;
  CHECK_THAT(f.Validate().message(),
             Catch::StartsWith("WRITE seq 12 for volume 3: 4096 bytes at offset 4097 run past"));
  f.m.offset = 8192;
  CHECK_FALSE(f.Validate().ok());
  // offset + length wraps to 3995, which a naive sum would accept.
  f.m.offset = kMax64 - 100;
  CHECK_THAT(f.Validate().message(), Catch::Contains("run past the end of the 8192-byte volume"));
  f.m.offset = kMax64;
  CHECK_FALSE(f.Validate().ok());
}

TEST_CASE("ValidateWrite checks the data frame against the header", "[messages]") {
  WriteFixture f;
  Status short_data =
      ValidateWrite(f.m, f.uuid, f.generation, f.session, f.volumes, f.data.data(), 4095);
  CHECK(short_data.message() == "WRITE seq 12: data frame has 4095 bytes, the header says 4096");
  f.data[100] ^= 1;
  CHECK_THAT(f.Validate().message(), Catch::StartsWith("WRITE seq 12: data checksum mismatch"));
  f = WriteFixture();
  f.m.length = 0;
  CHECK_THAT(f.Validate().message(), Catch::Contains("length 0 is outside"));
}

TEST_CASE("a generation history is decoded checked, or the message is refused", "[messages]") {
  HelloMsg hello = SampleHello();
  CheckEqual(DecodeAs<HelloMsg>(Encode(hello)), hello);
  CHECK(DecodeAs<WelcomeMsg>(Encode(SampleWelcome())) == SampleWelcome());
  CHECK(DecodeAs<RejectMsg>(Encode(SampleHistoryReject())) == SampleHistoryReject());
  CHECK(DecodeAs<RejectMsg>(Encode(SampleReject())).history.empty());
  CHECK(DecodeAs<WelcomeMsg>(Encode(SampleFailbackWelcome())) == SampleFailbackWelcome());
  CHECK(DecodeAs<WelcomeMsg>(Encode(SampleWelcome())).fork_seq == 0);
  CHECK(DecodeAs<DirtyMsg>(Encode(SampleDirty())) == SampleDirty());
  const std::string dirty = Encode(SampleDirty());
  CHECK_THAT(DecodeError(EditKey(dirty, "ext", [](Packer& pk) {
               pk.pack_array(1).pack_array(3).pack(1).pack(kMax64).pack(2);  // wraps around
             })),
             Catch::Contains("[volume, offset, length > 0]"));
  CHECK_THAT(DecodeError(EditKey(dirty, "ext", [](Packer& pk) {
               pk.pack_array(1).pack_array(3).pack(1).pack(0).pack(0);
             })),
             Catch::Contains("[volume, offset, length > 0]"));

  const std::string frame = Encode(hello);
  auto history_of = [&](const PackValue& v) { return DecodeError(EditKey(frame, "hist", v)); };
  CHECK_THAT(history_of([](Packer& pk) { pk.pack_array(0); }), Catch::Contains("is empty"));
  CHECK_THAT(history_of([](Packer& pk) { pk.pack_array(1).pack_array(3).pack(1).pack(2).pack(3); }),
             Catch::Contains("[uuid, start seq, parent, created at]"));
  // Not a chain: the second entry's parent is not the first.
  CHECK_THAT(history_of([](Packer& pk) {
               pk.pack_array(2);
               pk.pack_array(4).pack(std::string("g1")).pack(1).pack(std::string("")).pack(0);
               pk.pack_array(4).pack(std::string("g2")).pack(5).pack(std::string("gX")).pack(0);
             }),
             Catch::Contains("does not follow"));
  // Longer than any host sends: refused before anything else is looked at.
  CHECK_THAT(history_of([](Packer& pk) {
               pk.pack_array(kMaxHistoryEntries + 1);
               std::string parent;
               for (size_t i = 0; i <= kMaxHistoryEntries; ++i) {
                 std::string uuid = "g" + std::to_string(i);
                 pk.pack_array(4).pack(uuid).pack(i + 1).pack(parent).pack(0);
                 parent = uuid;
               }
             }),
             Catch::Contains("at most 256"));
  // A longer history is sent trimmed to its newest entries.
  hello.history.clear();
  for (size_t i = 0; i < kMaxHistoryEntries + 10; ++i) {
    hello.history.push_back(NextGeneration(hello.history, "g" + std::to_string(i), i + 1, 0));
  }
  HelloMsg got = DecodeAs<HelloMsg>(Encode(hello));
  CHECK(got.history.size() == kMaxHistoryEntries);
  CHECK(got.history.back() == hello.history.back());
}

}  // namespace
}  // namespace rvg
