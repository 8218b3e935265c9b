// net/messages: what a decoded WRITE must also satisfy before it is applied
// (ValidateWrite), and generation histories and failback reports on the
// wire, decoded checked.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "messages_fixture.h"
#include "net/msg_codec.h"

namespace rvg {
namespace {

using namespace messages_test;

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

TEST_CASE("HANDOVER and HANDED survive a round trip and refuse bad values", "[messages]") {
  const HandoverMsg handover{9, 1234, "gen-7f3a", "/mnt/rvg/datavg"};
  CHECK(DecodeAs<HandoverMsg>(Encode(handover)) == handover);
  CHECK(DecodeAs<HandoverMsg>(Encode(HandoverMsg{9, 0, "g", ""})).mount.empty());
  const HandedMsg yes{9, true, "gen-8b", 1235, ""};
  CHECK(DecodeAs<HandedMsg>(Encode(yes)) == yes);
  const HandedMsg no{9, false, "", 0, "the images are inconsistent here"};
  CHECK(DecodeAs<HandedMsg>(Encode(no)) == no);

  CHECK_THAT(DecodeError(Encode(HandoverMsg{9, 1, "g", "relative/dir"})),
             Catch::Contains("absolute path"));
  CHECK_THAT(DecodeError(Encode(HandoverMsg{9, 1, "", "/m"})), Catch::Contains("\"gen\" is empty"));
  CHECK_THAT(DecodeError(Encode(HandoverMsg{9, 1, "g", "/" + std::string(kMaxMountPathBytes, 'm')})),
             Catch::Contains("at most 1000"));
  CHECK_THAT(DecodeError(Encode(HandedMsg{9, true, "", 5, ""})), Catch::Contains("needs \"gen\""));
  CHECK_THAT(DecodeError(Encode(HandedMsg{9, true, "g", 0, ""})), Catch::Contains("non-zero"));
  CHECK_THAT(DecodeError(Encode(HandedMsg{0, false, "", 0, "x"})), Catch::Contains("session ids"));
}

TEST_CASE("a long HANDED refusal is clipped, not made undecodable", "[messages]") {
  // A refusal that quotes a long --mount path would otherwise be dropped by
  // the old primary, which would then count the HANDOVER as unanswered.
  HandedMsg no{9, false, "", 0, "cannot mount at /" + std::string(kMaxMountPathBytes, 'm')};
  const HandedMsg got = DecodeAs<HandedMsg>(Encode(no));
  CHECK_FALSE(got.accepted);
  CHECK(got.reason.size() == msg_codec::kMaxStringBytes);
  CHECK(no.reason.compare(0, got.reason.size(), got.reason) == 0);
}

}  // namespace
}  // namespace rvg
