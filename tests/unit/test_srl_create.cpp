// Srl::Create on a real file: the SRL is written once over its whole size,
// so that appends are overwrites and an fdatasync of the SRL never has to
// commit extent changes (allocation) in the filesystem's journal.
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/srl.h"

namespace {

// The extents of `path` (FIEMAP), as (logical offset, length, flags).
struct Extent {
  uint64_t offset;
  uint64_t length;
  uint32_t flags;
};

std::vector<Extent> ExtentsOf(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  constexpr unsigned kMax = 512;
  std::vector<uint8_t> buf(sizeof(fiemap) + kMax * sizeof(fiemap_extent));
  auto* map = reinterpret_cast<fiemap*>(buf.data());
  map->fm_start = 0;
  map->fm_length = FIEMAP_MAX_OFFSET;
  map->fm_flags = FIEMAP_FLAG_SYNC;
  map->fm_extent_count = kMax;
  const int rc = ioctl(fd, FS_IOC_FIEMAP, map);
  close(fd);
  INFO("FIEMAP on " << path << " (the test needs a filesystem that reports extents, e.g. ext4)");
  REQUIRE(rc == 0);
  std::vector<Extent> out;
  for (unsigned i = 0; i < map->fm_mapped_extents; ++i) {
    const fiemap_extent& e = map->fm_extents[i];
    out.push_back({e.fe_logical, e.fe_length, e.fe_flags});
  }
  return out;
}

}  // namespace

TEST_CASE("A new SRL is written over its whole size: no unwritten extents, no holes") {
  // Next to the test binary (the build dir), not /tmp, which may be tmpfs.
  std::string pattern = std::filesystem::current_path().string() + "/rvg-srl-create-XXXXXX";
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  const std::string path = pattern + "/srl";
  const uint64_t size = 16ull << 20;
  rvg::Status st = rvg::Srl::Create(path, size, "6a0e1c8e-2f4b-4c1e-9d3a-5b7f2e8c4d10");
  INFO(st.message());
  REQUIRE(st.ok());

  uint64_t covered = 0;
  for (const Extent& e : ExtentsOf(path)) {
    INFO("extent at " << e.offset << ", " << e.length << " bytes, flags " << e.flags);
    CHECK((e.flags & FIEMAP_EXTENT_UNWRITTEN) == 0);
    CHECK(e.offset == covered);  // no hole before it
    covered = e.offset + e.length;
  }
  CHECK(covered >= size);
  std::filesystem::remove_all(pattern);
}
