// Fuzz target: the RLINK wire decoder (net/messages.h), the bytes any peer
// that reaches a secondary's port can send.
//
// Input: a 2-byte little-endian header length N, N bytes of header frame,
// and the rest as the data frame of a WRITE. (Under 2 bytes: all header.)
//
// Oracle:
//   - DecodeHeader never crashes or throws; a refusal is a one-line message;
//   - a decoded message re-encodes to a frame that decodes to the same
//     message, and encoding that again gives the same bytes (stable);
//   - ValidateWrite, against a fixed RVG, accepts a WRITE only if it is
//     really for this session, lies inside its volume (no wrap-around) and
//     its data frame has the header's length and CRC.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "core/crc32c.h"
#include "fuzz_util.h"
#include "net/messages.h"

namespace rvg::fuzz {
namespace {

const std::string kUuid = "0f8e2c7a-3b1d-4c55-9a0e-6d2f1b7c9e41";
const std::string kGeneration = "gen-7f3a";
constexpr uint64_t kSession = 0x5eed5eed5eed5eedULL;

// Volume 2 ends at the very top of the 64-bit range, where offset + length
// would wrap; volume 9 is one block.
const std::vector<VolumeSpec> kVolumes = {
    {1, "db", "/nonexistent/db.img", 1ULL << 20},
    {2, "huge", "/nonexistent/huge.img", std::numeric_limits<uint64_t>::max() - 511},
    {9, "tiny", "/nonexistent/tiny.img", 4096},
};

std::string EncodeAny(const Message& m) {
  return std::visit([](const auto& msg) { return Encode(msg); }, m);
}

void CheckRoundTrip(const Message& decoded) {
  const std::string frame = EncodeAny(decoded);
  Result<Message> again = DecodeHeader(frame.data(), frame.size());
  FUZZ_CHECK(again.ok(), "re-encoded message does not decode: " + again.status().message());
  FUZZ_CHECK(*again == decoded, "decode(encode(m)) != m");
  FUZZ_CHECK(EncodeAny(*again) == frame, "encoding is not stable");
}

// What ValidateWrite promises, restated independently.
void CheckAcceptedWrite(const WriteMsg& m, const uint8_t* data, size_t size) {
  FUZZ_CHECK(m.rvg_uuid == kUuid && m.generation == kGeneration && m.session_id == kSession,
             "accepted a WRITE of another RVG, generation or session");
  auto volume = std::find_if(kVolumes.begin(), kVolumes.end(),
                             [&m](const VolumeSpec& v) { return v.id == m.volume; });
  FUZZ_CHECK(volume != kVolumes.end(), "accepted a WRITE to a missing volume");
  const unsigned __int128 end = static_cast<unsigned __int128>(m.offset) + m.length;
  FUZZ_CHECK(m.length >= 1 && end <= volume->size, "accepted a WRITE past the volume end");
  FUZZ_CHECK(size == m.length, "accepted a data frame of the wrong length");
  FUZZ_CHECK(Crc32c(data, size) == m.data_crc, "accepted data that fails its CRC");
}

WriteMsg SeedWrite(uint32_t volume, uint64_t offset, const std::string& data) {
  WriteMsg m{kUuid, kGeneration, kSession, 42, volume, offset,
             static_cast<uint32_t>(data.size()), Crc32c(data.data(), data.size())};
  return m;
}

std::vector<uint8_t> Frame(const std::string& header, const std::string& data = "") {
  std::vector<uint8_t> input = {static_cast<uint8_t>(header.size()),
                                static_cast<uint8_t>(header.size() >> 8)};
  input.insert(input.end(), header.begin(), header.end());
  input.insert(input.end(), data.begin(), data.end());
  return input;
}

std::vector<Seed> MakeSeeds() {
  HelloMsg hello{"datavg", kUuid, kGeneration, "to_london", kSession, 1000, 17,
                 {{1, "db", 1ULL << 20}, {2, "huge", 1ULL << 40}}};
  const std::string block(512, 'x');
  return {
      {"hello", Frame(Encode(hello))},
      {"welcome", Frame(Encode(WelcomeMsg{kUuid, kGeneration, kSession, 999}))},
      {"reject", Frame(Encode(RejectMsg{0, "rvg uuid mismatch", false}))},
      {"write_ok", Frame(Encode(SeedWrite(1, 4096, block)), block)},
      {"write_tail_of_huge",
       Frame(Encode(SeedWrite(2, kVolumes[1].size - 4, "abcd")), "abcd")},
      {"write_bad_crc", Frame(Encode(SeedWrite(9, 0, "abc")), "abd")},
      {"ack", Frame(Encode(AckMsg{kSession, 50, 40}))},
      {"nack", Frame(Encode(NackMsg{kSession, 12, 15}))},
      {"ping", Frame(Encode(PingMsg{kSession, 77}))},
  };
}

}  // namespace
}  // namespace rvg::fuzz

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  rvg::fuzz::MaybeWriteSeeds(argc, argv, rvg::fuzz::MakeSeeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  using namespace rvg;
  using namespace rvg::fuzz;
  size_t header_size = size;
  const uint8_t* header = input;
  if (size >= 2) {
    header_size = std::min<size_t>(input[0] | (size_t{input[1]} << 8), size - 2);
    header = input + 2;
  }
  const uint8_t* data = header + header_size;
  const size_t data_size = size - static_cast<size_t>(data - input);

  Result<Message> decoded = DecodeHeader(header, header_size);
  if (!decoded.ok()) {
    CheckErrorMessage(decoded.status());
    return 0;
  }
  CheckRoundTrip(*decoded);
  if (const auto* write = std::get_if<WriteMsg>(&*decoded)) {
    Status st = ValidateWrite(*write, kUuid, kGeneration, kSession, kVolumes, data, data_size);
    if (st.ok()) {
      CheckAcceptedWrite(*write, data, data_size);
    } else {
      CheckErrorMessage(st);
    }
  }
  return 0;
}
