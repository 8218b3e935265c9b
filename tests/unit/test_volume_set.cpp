// VolumeSet against real image files in a private temp dir.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/volume_set.h"

namespace {

// A directory made with mkdtemp and removed, with everything in it, at the
// end of the test.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/rvg-volume-set-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    REQUIRE(made != nullptr);
    path_ = made;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

uint64_t FileSize(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<uint64_t>(st.st_size);
}

void WriteFileOfSize(const std::string& path, uint64_t size) {
  std::ofstream out(path, std::ios::binary);
  out << std::string(size, 'x');
}

std::vector<uint8_t> Pattern(size_t length, uint8_t seed) {
  std::vector<uint8_t> bytes(length);
  for (size_t i = 0; i < length; ++i) bytes[i] = static_cast<uint8_t>(seed + i * 7);
  return bytes;
}

std::vector<rvg::VolumeSpec> TwoVolumes(const TempDir& dir) {
  return {{1, "data", dir.File("data.img"), 1 << 20},
          {7, "logs", dir.File("logs.img"), 64 << 10}};
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("CreateImages makes sparse images of the volume sizes") {
  TempDir dir;
  auto specs = TwoVolumes(dir);
  REQUIRE(rvg::VolumeSet::CreateImages(specs).ok());
  CHECK(FileSize(specs[0].path) == specs[0].size);
  CHECK(FileSize(specs[1].path) == specs[1].size);

  struct stat st;
  REQUIRE(::stat(specs[0].path.c_str(), &st) == 0);
  CHECK(static_cast<uint64_t>(st.st_blocks) * 512 < specs[0].size);
}

TEST_CASE("CreateImages accepts an existing image of exactly the right size") {
  TempDir dir;
  auto specs = TwoVolumes(dir);
  WriteFileOfSize(specs[1].path, specs[1].size);
  REQUIRE(rvg::VolumeSet::CreateImages(specs).ok());

  // The administrator's bytes are kept.
  auto set = rvg::VolumeSet::Open(specs);
  REQUIRE(set.ok());
  std::vector<uint8_t> buf(4);
  REQUIRE((*set)->Read(7, 100, buf.data(), buf.size()).ok());
  CHECK(buf == std::vector<uint8_t>(4, 'x'));
}

TEST_CASE("CreateImages refuses an existing file of another size and clobbers nothing") {
  TempDir dir;
  auto specs = TwoVolumes(dir);
  WriteFileOfSize(specs[1].path, 1000);
  rvg::Status status = rvg::VolumeSet::CreateImages(specs);
  REQUIRE_FALSE(status.ok());
  INFO(status.message());
  CHECK(Contains(status.message(), specs[1].path));
  CHECK(Contains(status.message(), "size 1000"));
  CHECK(Contains(status.message(), "logs"));
  CHECK(Contains(status.message(), std::to_string(specs[1].size)));
  CHECK(FileSize(specs[1].path) == 1000);
  // The image this call had created for the first volume is gone again.
  CHECK_FALSE(std::filesystem::exists(specs[0].path));
}

TEST_CASE("CreateImages reports a missing directory with the path and the cause") {
  TempDir dir;
  std::vector<rvg::VolumeSpec> specs = {{1, "data", dir.File("no/such/dir.img"), 4096}};
  rvg::Status status = rvg::VolumeSet::CreateImages(specs);
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == ENOENT);
  CHECK(Contains(status.message(), specs[0].path));
  CHECK(Contains(status.message(), "No such file or directory"));
}

TEST_CASE("Open checks that each image exists and has the volume's size") {
  TempDir dir;
  auto specs = TwoVolumes(dir);

  SECTION("missing image") {
    auto set = rvg::VolumeSet::Open(specs);
    REQUIRE_FALSE(set.ok());
    CHECK(set.status().code() == ENOENT);
    CHECK(Contains(set.status().message(), specs[0].path));
  }
  SECTION("image of the wrong size") {
    REQUIRE(rvg::VolumeSet::CreateImages(specs).ok());
    REQUIRE(::truncate(specs[1].path.c_str(), 4096) == 0);
    auto set = rvg::VolumeSet::Open(specs);
    REQUIRE_FALSE(set.ok());
    INFO(set.status().message());
    CHECK(Contains(set.status().message(), specs[1].path));
    CHECK(Contains(set.status().message(), "logs"));
    CHECK(Contains(set.status().message(), "4096"));
  }
}

TEST_CASE("Bytes written to a volume read back equal, and persist across reopen") {
  TempDir dir;
  auto specs = TwoVolumes(dir);
  REQUIRE(rvg::VolumeSet::CreateImages(specs).ok());

  const auto first = Pattern(8192, 3);
  const auto last = Pattern(512, 99);
  const auto small = Pattern(100, 42);
  {
    auto set = rvg::VolumeSet::Open(specs);
    REQUIRE(set.ok());
    CHECK((*set)->specs().size() == 2);
    REQUIRE((*set)->Write(1, 0, first.data(), first.size()).ok());
    REQUIRE((*set)->Write(1, specs[0].size - last.size(), last.data(), last.size()).ok());
    REQUIRE((*set)->Write(7, 12345, small.data(), small.size()).ok());
    REQUIRE((*set)->SyncAll().ok());

    std::vector<uint8_t> buf(first.size());
    REQUIRE((*set)->Read(1, 0, buf.data(), buf.size()).ok());
    CHECK(buf == first);
  }
  auto set = rvg::VolumeSet::Open(specs);
  REQUIRE(set.ok());
  std::vector<uint8_t> buf(last.size());
  REQUIRE((*set)->Read(1, specs[0].size - last.size(), buf.data(), buf.size()).ok());
  CHECK(buf == last);
  buf.resize(small.size());
  REQUIRE((*set)->Read(7, 12345, buf.data(), buf.size()).ok());
  CHECK(buf == small);
  // The same offset of the other volume was never written: still zeros.
  REQUIRE((*set)->Read(1, 12345, buf.data(), buf.size()).ok());
  CHECK(buf == std::vector<uint8_t>(small.size(), 0));
}

TEST_CASE("CheckRange, Write and Read reject ranges outside a volume") {
  TempDir dir;
  auto specs = TwoVolumes(dir);
  REQUIRE(rvg::VolumeSet::CreateImages(specs).ok());
  auto set = rvg::VolumeSet::Open(specs);
  REQUIRE(set.ok());
  const rvg::VolumeSet& volumes = **set;
  const uint64_t size = specs[1].size;

  CHECK(volumes.CheckRange(7, 0, size).ok());
  CHECK(volumes.CheckRange(7, size, 0).ok());
  CHECK(volumes.CheckRange(7, size - 1, 1).ok());

  rvg::Status past_end = volumes.CheckRange(7, size - 10, 11);
  REQUIRE_FALSE(past_end.ok());
  CHECK(past_end.code() == ENOSPC);
  INFO(past_end.message());
  CHECK(Contains(past_end.message(), "logs"));
  CHECK(Contains(past_end.message(), "11 bytes"));
  CHECK(Contains(past_end.message(), "offset " + std::to_string(size - 10)));
  CHECK(Contains(past_end.message(), "size " + std::to_string(size)));

  CHECK(volumes.CheckRange(7, size + 1, 0).code() == ENOSPC);
  // offset + length wraps around 2^64; still past the end, not inside.
  CHECK(volumes.CheckRange(7, 16, UINT64_MAX - 8).code() == ENOSPC);
  CHECK(volumes.CheckRange(7, UINT64_MAX, 2).code() == ENOSPC);

  rvg::Status unknown = volumes.CheckRange(3, 0, 1);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.code() == EINVAL);
  CHECK(Contains(unknown.message(), "3"));

  CHECK(volumes.Find(7) != nullptr);
  CHECK(volumes.Find(7)->name == "logs");
  CHECK(volumes.Find(3) == nullptr);

  // Write and Read refuse the same ranges rather than touch the image.
  std::vector<uint8_t> buf(64, 0xAB);
  CHECK((*set)->Write(7, size - 32, buf.data(), buf.size()).code() == ENOSPC);
  CHECK((*set)->Write(3, 0, buf.data(), buf.size()).code() == EINVAL);
  CHECK((*set)->Read(7, size - 32, buf.data(), buf.size()).code() == ENOSPC);
  CHECK(FileSize(specs[1].path) == size);
}

TEST_CASE("Reading an image that shrank behind rvg's back is an error") {
  TempDir dir;
  auto specs = TwoVolumes(dir);
  REQUIRE(rvg::VolumeSet::CreateImages(specs).ok());
  auto set = rvg::VolumeSet::Open(specs);
  REQUIRE(set.ok());
  REQUIRE(::truncate(specs[0].path.c_str(), 4096) == 0);

  std::vector<uint8_t> buf(8192);
  rvg::Status status = (*set)->Read(1, 0, buf.data(), buf.size());
  REQUIRE_FALSE(status.ok());
  INFO(status.message());
  CHECK(Contains(status.message(), specs[0].path));
  CHECK(Contains(status.message(), "4096"));
}

TEST_CASE("a locked image cannot be locked again, and the error names it and its holder") {
  TempDir dir;
  auto specs = TwoVolumes(dir);
  REQUIRE(rvg::VolumeSet::CreateImages(specs).ok());
  auto first = rvg::VolumeSet::Open(specs);
  REQUIRE(first.ok());
  REQUIRE((*first)->Lock().ok());
  auto second = rvg::VolumeSet::Open(specs);  // opening to read stays possible
  REQUIRE(second.ok());
  rvg::Status status = (*second)->Lock();
  REQUIRE_FALSE(status.ok());
  INFO(status.message());
  CHECK(status.code() == EWOULDBLOCK);
  CHECK(Contains(status.message(), specs[0].path));
  CHECK(Contains(status.message(), "pid " + std::to_string(::getpid())));
  first->reset();  // the lock goes with the set
  CHECK((*second)->Lock().ok());
}
