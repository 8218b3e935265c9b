// Shared helpers for the engine unit tests: a temp directory with image
// files and an SRL, and deterministic write payloads.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <thread>
#include <filesystem>
#include <string>
#include <vector>

#include "core/srl.h"
#include "core/volume_set.h"

namespace rvg::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/rvg-engine-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::vector<VolumeSpec> TwoVolumes(const std::string& dir) {
  return {{1, "alpha", dir + "/alpha.img", 8 << 20}, {2, "beta", dir + "/beta.img", 4 << 20}};
}

// Bytes that depend on (tag, position) so misplaced or stale data shows.
inline std::vector<uint8_t> Pattern(uint64_t tag, size_t length) {
  std::vector<uint8_t> out(length);
  uint64_t x = tag * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < length; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<uint8_t>(x);
  }
  return out;
}

inline std::vector<uint8_t> ReadAll(const VolumeSet& set, uint32_t volume) {
  const VolumeSpec* spec = set.Find(volume);
  std::vector<uint8_t> out(spec->size);
  Status st = set.Read(volume, 0, out.data(), out.size());
  if (!st.ok()) out.clear();
  return out;
}

// Polls `pred` until it holds or `limit` passes; returns whether it held.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace rvg::testing
