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
#include "messages_fixture.h"

namespace rvg {
namespace {

using namespace messages_test;

TEST_CASE("every message type survives a round trip", "[messages]") {
  CheckEqual(DecodeAs<HelloMsg>(Encode(SampleHello())), SampleHello());

  HelloMsg no_volumes = SampleHello();
  no_volumes.volumes.clear();
  CheckEqual(DecodeAs<HelloMsg>(Encode(no_volumes)), no_volumes);
  HelloMsg covering = SampleHello();  // three hosts: the optional "covered"
  covering.covered_from = 41;
  CheckEqual(DecodeAs<HelloMsg>(Encode(covering)), covering);

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
        "peer speaks protocol version 1, this rvg speaks 5; run the same rvg release on both hosts");
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

}  // namespace
}  // namespace rvg
