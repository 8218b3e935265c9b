// Shared by the undo area suites: regions with deterministic data, and a
// secondary's images on a FaultEnv with what they held before a resync.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/crc32c.h"
#include "core/undo_area.h"
#include "core/volume_set.h"
#include "engine_fixture.h"
#include "fault_env.h"

namespace rvg::testing {

// A resync region (`number` is its number in the session) whose data is
// Pattern(tag).
inline WriteRecord MakeRegion(uint64_t number, uint32_t volume, uint64_t offset, size_t length,
                              uint64_t tag) {
  std::vector<uint8_t> bytes = Pattern(tag, length);
  auto data = std::make_shared<DataBuffer>(length);
  std::memcpy(data->data(), bytes.data(), length);
  return WriteRecord{number, volume, offset, static_cast<uint32_t>(length),
                     Crc32c(bytes.data(), length), std::move(data)};
}

using Images = std::vector<std::vector<uint8_t>>;

// "" when the images are byte-identical, else where they first differ
// (short, so that a failed CHECK does not print megabytes).
inline std::string Difference(const Images& got, const Images& want) {
  if (got.size() != want.size()) return "a different number of images";
  for (size_t v = 0; v < got.size(); ++v) {
    if (got[v].size() != want[v].size()) return "image " + std::to_string(v) + ": another size";
    auto at = std::mismatch(got[v].begin(), got[v].end(), want[v].begin());
    if (at.first != got[v].end()) {
      return "image " + std::to_string(v) + " differs first at byte " +
             std::to_string(at.first - got[v].begin());
    }
  }
  return "";
}

// Two small images on a FaultEnv, filled with a pattern and synced: the
// consistent copy a resync is about to overwrite.
struct UndoRig {
  FaultEnv env;
  const std::vector<VolumeSpec> specs{{1, "alpha", "/rvg/alpha.img", 512 << 10},
                                      {2, "beta", "/rvg/beta.img", 256 << 10}};
  const std::string undo_path = "/rvg/home/r.undo";
  const std::string owner = "srl-uuid-1";
  std::unique_ptr<VolumeSet> volumes;
  Images before;  // per volume, in specs order

  UndoRig() {
    REQUIRE(VolumeSet::CreateImages(specs, &env).ok());
    Reopen();
    for (const VolumeSpec& spec : specs) {
      std::vector<uint8_t> bytes = Pattern(1000 + spec.id, spec.size);
      REQUIRE(volumes->Write(spec.id, 0, bytes.data(), bytes.size()).ok());
    }
    REQUIRE(volumes->SyncAll().ok());
    before = Current();
  }

  void Reopen() {
    volumes.reset();
    auto set = VolumeSet::Open(specs, &env);
    REQUIRE(set.ok());
    volumes = std::move(*set);
  }

  std::unique_ptr<UndoArea> Area() { return std::make_unique<UndoArea>(undo_path, owner, &env); }

  // What the images hold now (the env's visible state).
  Images Current() const {
    Images images;
    for (const VolumeSpec& spec : specs) images.push_back(env.Contents(spec.path));
    return images;
  }

  // What a resync does with a batch: save, then write and sync.
  Status SaveAndWrite(UndoArea& area, const std::vector<WriteRecord>& regions) {
    Status st = area.Save(regions.data(), regions.size(), *volumes);
    size_t written = 0;
    if (st.ok()) st = volumes->WriteRecords(regions.data(), regions.size(), &written);
    if (st.ok()) st = volumes->SyncAll();
    return st;
  }
};

}  // namespace rvg::testing
