// Fuzz target: the control-channel decoder (net/control_codec.h), which
// reads every request that reaches an rvgd's control socket.
//
// Oracle: DecodeControlMessage never crashes, throws or recurses without
// bound, and refuses with a one-line error; what it accepts is an object
// that re-encodes to bytes that decode again, to the same value, and
// encode to the same bytes (a NaN compares unequal to itself, so the
// value comparison is skipped for values that hold one).
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "net/control_codec.h"

namespace rvg::fuzz {
namespace {

std::vector<Seed> MakeSeeds() {
  using nlohmann::json;
  const json status_reply = {
      {"ok", true},
      {"status",
       {{"rvg", "datavg"},
        {"role", "primary"},
        {"rlinks", json::array({{{"name", "london"}, {"state", "connected"}, {"lag", 12}}})},
        {"srl", {{"used", 4096}, {"size", 1ULL << 30}}}}}};
  const std::vector<std::pair<std::string, json>> messages = {
      {"status", {{"cmd", "status"}}},
      {"ping", {{"cmd", "ping"}}},
      {"stop", {{"cmd", "stop"}}},
      {"drain", {{"cmd", "drain"}, {"rlink", "london"}, {"timeout", 30.5}}},
      {"reply_status", status_reply},
      {"reply_error", {{"ok", false}, {"error", "no RVG named x"}}},
      {"numbers", {{"a", -1}, {"b", 1ULL << 63}, {"c", 1e300}, {"d", nullptr}, {"e", "zürich"}}},
  };
  std::vector<Seed> seeds;
  for (const auto& [name, message] : messages) {
    seeds.push_back({name, EncodeControlMessage(message)});
  }
  return seeds;
}

// True unless `value` holds a NaN somewhere.
bool SelfEqual(const nlohmann::json& value) { return value == value; }

void Check(const uint8_t* data, size_t size) {
  Result<nlohmann::json> decoded = DecodeControlMessage(data, size);
  if (!decoded.ok()) return CheckErrorMessage(decoded.status());
  const nlohmann::json& value = decoded.value();
  FUZZ_CHECK(value.is_object(), "decoded a control message that is not a map");
  const std::vector<uint8_t> encoded = EncodeControlMessage(value);
  Result<nlohmann::json> again = DecodeControlMessage(encoded.data(), encoded.size());
  FUZZ_CHECK(again.ok(), "a decoded message does not decode once re-encoded: " +
                             again.status().message());
  FUZZ_CHECK(!SelfEqual(value) || again.value() == value, "decode(encode(m)) != m");
  FUZZ_CHECK(EncodeControlMessage(again.value()) == encoded, "encoding is not stable");
}

}  // namespace
}  // namespace rvg::fuzz

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  rvg::fuzz::MaybeWriteSeeds(argc, argv, rvg::fuzz::MakeSeeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // "Never throws" is part of the contract: an exception is a finding.
  try {
    rvg::fuzz::Check(data, size);
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, std::string("exception: ") + e.what());
  }
  return 0;
}
