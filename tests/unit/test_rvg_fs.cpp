// RvgFs mounted for real (FUSE in a private temp dir) over a VolumeSet of
// two sparse images, driven through ordinary system calls.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/record.h"
#include "core/volume_io.h"
#include "core/volume_set.h"
#include "fuse/rvg_fs.h"

namespace {

constexpr uint64_t kSizeA = 4 << 20;
// Not a multiple of the page size, so the end falls inside a page.
constexpr uint64_t kSizeB = (1 << 20) + 1000;
constexpr uint64_t kLastPageB = kSizeB / 4096 * 4096;

struct WriteCall {
  uint32_t volume;
  uint64_t offset;
  size_t length;
  bool strict;
};

// A VolumeIo straight onto the images that records what the mount asked of
// it, so the tests can tell what reached the engine and with which contract.
class RecordingIo : public rvg::VolumeIo {
 public:
  explicit RecordingIo(rvg::VolumeSet* set) : set_(set) {}

  const std::vector<rvg::VolumeSpec>& Volumes() const override { return set_->specs(); }
  rvg::Status Read(uint32_t volume, uint64_t offset, void* buf, size_t length) override {
    return set_->Read(volume, offset, buf, length);
  }
  // Offers `direct_fd` (when set) for every read, as an engine does when
  // the image alone holds the data.
  int DirectReadFd(uint32_t /*volume*/, uint64_t /*offset*/, size_t /*length*/) override {
    return direct_fd.load();
  }
  std::atomic<int> direct_fd{-1};
  rvg::Status Write(uint32_t volume, uint64_t offset, const void* data, size_t length,
                    bool strict) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      writes_.push_back({volume, offset, length, strict});
    }
    return set_->Write(volume, offset, data, length);
  }
  rvg::Status Flush() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++flushes_;
    }
    return set_->SyncAll();
  }

  std::vector<WriteCall> writes() {
    std::lock_guard<std::mutex> lock(mu_);
    return writes_;
  }
  int flushes() {
    std::lock_guard<std::mutex> lock(mu_);
    return flushes_;
  }

 private:
  rvg::VolumeSet* set_;
  std::mutex mu_;
  std::vector<WriteCall> writes_;
  int flushes_ = 0;
};

bool IsMounted(const std::string& mountpoint) {
  std::ifstream mounts("/proc/mounts");
  std::string device, dir, rest;
  while (mounts >> device >> dir && std::getline(mounts, rest)) {
    if (dir == mountpoint) return true;
  }
  return false;
}

std::string MountLine(const std::string& mountpoint) {
  std::ifstream mounts("/proc/mounts");
  std::string line;
  while (std::getline(mounts, line)) {
    if (line.find(" " + mountpoint + " ") != std::string::npos) return line;
  }
  return "";
}

std::vector<char> Pattern(size_t length, uint32_t seed) {
  std::vector<char> bytes(length);
  uint32_t x = seed * 2654435761u + 1;
  for (char& b : bytes) {
    x = x * 1103515245u + 12345u;
    b = static_cast<char>(x >> 24);
  }
  return bytes;
}

std::vector<char> ReadAt(const std::string& path, uint64_t offset, size_t length) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  std::vector<char> bytes(length);
  ssize_t n = ::pread(fd, bytes.data(), length, static_cast<off_t>(offset));
  ::close(fd);
  REQUIRE(n == static_cast<ssize_t>(length));
  return bytes;
}

// Compared without Catch printing megabytes of both sides on failure.
bool SameBytes(const std::vector<char>& a, const std::vector<char>& b) { return a == b; }

// A directory made with mkdtemp and removed, with everything in it, at the
// end of the test.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/rvg-fs-test-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    REQUIRE(made != nullptr);
    path_ = made;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A temp dir holding two sparse images and a mountpoint, with the images
// mounted. Members are destroyed in reverse order: the mount goes first
// (lazily, if a test failed before unmounting), then the io, then the files.
class MountedRvg {
 public:
  MountedRvg() : mountpoint_(dir_.path() + "/mnt") {
    REQUIRE(::mkdir(mountpoint_.c_str(), 0700) == 0);
    specs_ = {{3, "a", dir_.path() + "/a.img", kSizeA},
              {9, "b", dir_.path() + "/b.img", kSizeB}};
    REQUIRE(rvg::VolumeSet::CreateImages(specs_).ok());
    auto set = rvg::VolumeSet::Open(specs_);
    REQUIRE(set.ok());
    set_ = std::move(set.value());
    io_ = std::make_unique<RecordingIo>(set_.get());
    auto fs = rvg::RvgFs::Mount(io_.get(), mountpoint_, "rvg:testrvg");
    INFO(fs.status().message());
    REQUIRE(fs.ok());
    fs_ = std::move(fs.value());
  }

  std::string Volume(const std::string& name) const { return mountpoint_ + "/" + name; }
  const std::string& mountpoint() const { return mountpoint_; }
  const rvg::VolumeSpec& spec(size_t i) const { return specs_[i]; }
  RecordingIo& io() { return *io_; }
  rvg::RvgFs& fs() { return *fs_; }
  void DestroyFs() { fs_.reset(); }

 private:
  TempDir dir_;
  std::string mountpoint_;
  std::vector<rvg::VolumeSpec> specs_;
  std::unique_ptr<rvg::VolumeSet> set_;
  std::unique_ptr<RecordingIo> io_;
  std::unique_ptr<rvg::RvgFs> fs_;
};

// An fd closed at the end of the scope, also when a REQUIRE fails.
class Fd {
 public:
  Fd(const std::string& path, int flags) : fd_(::open(path.c_str(), flags | O_CLOEXEC)) {
    INFO(path << ": " << strerror(errno));
    REQUIRE(fd_ >= 0);
  }
  ~Fd() { Close(); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

uint64_t SizeOf(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace

TEST_CASE("the mount lists each volume as a file of the volume's size") {
  MountedRvg rvg;
  std::string line = MountLine(rvg.mountpoint());
  CHECK(line.rfind("rvg:testrvg " + rvg.mountpoint() + " fuse.rvg ", 0) == 0);

  std::set<std::string> names;
  DIR* dir = ::opendir(rvg.mountpoint().c_str());
  REQUIRE(dir != nullptr);
  while (struct dirent* entry = ::readdir(dir)) names.insert(entry->d_name);
  ::closedir(dir);
  CHECK(names == std::set<std::string>{".", "..", "a", "b"});

  struct stat st;
  REQUIRE(::stat(rvg.Volume("a").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_uid == ::getuid());
  CHECK(st.st_gid == ::getgid());
  CHECK(static_cast<uint64_t>(st.st_size) == kSizeA);
  CHECK(SizeOf(rvg.Volume("b")) == kSizeB);
  CHECK(::stat(rvg.Volume("c").c_str(), &st) == -1);
  CHECK(errno == ENOENT);
}

TEST_CASE("writes at scattered offsets read back through the mount and land in the images") {
  MountedRvg rvg;
  struct Piece {
    size_t volume;
    uint64_t offset;
    size_t length;
  };
  const std::vector<Piece> pieces = {
      {0, 0, 4096},
      {0, 12345, 777},                     // unaligned
      {0, (1 << 20) - 100, 200},           // across a MiB boundary
      {0, 2 << 20, rvg::kMaxWriteBytes},   // one maximal write
      {0, kSizeA - 8192, 8192},            // the last bytes
      {1, 5000, 3000},
      {1, kSizeB - 10, 10},
  };
  for (size_t i = 0; i < pieces.size(); ++i) {
    const Piece& p = pieces[i];
    Fd fd(rvg.Volume(rvg.spec(p.volume).name), O_RDWR);
    std::vector<char> data = Pattern(p.length, static_cast<uint32_t>(i));
    REQUIRE(::pwrite(fd.get(), data.data(), p.length, static_cast<off_t>(p.offset)) ==
            static_cast<ssize_t>(p.length));
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    const Piece& p = pieces[i];
    INFO("piece " << i);
    std::vector<char> expected = Pattern(p.length, static_cast<uint32_t>(i));
    CHECK(SameBytes(ReadAt(rvg.Volume(rvg.spec(p.volume).name), p.offset, p.length), expected));
    CHECK(SameBytes(ReadAt(rvg.spec(p.volume).path, p.offset, p.length), expected));
  }
  // The volumes keep their sizes, and the 1 MiB write arrived in one piece
  // (max_write), all with the default contract.
  CHECK(SizeOf(rvg.Volume("a")) == kSizeA);
  CHECK(SizeOf(rvg.spec(0).path) == kSizeA);
  size_t largest = 0;
  for (const WriteCall& call : rvg.io().writes()) {
    largest = std::max(largest, call.length);
    CHECK_FALSE(call.strict);
  }
  CHECK(largest == rvg::kMaxWriteBytes);
}

TEST_CASE("writes that do not fit in the volume fail with ENOSPC and change nothing") {
  MountedRvg rvg;
  Fd fd(rvg.Volume("b"), O_RDWR);
  std::vector<char> data = Pattern(8192, 1);
  std::vector<char> before = ReadAt(rvg.spec(1).path, kSizeB - 8192, 8192);

  errno = 0;
  CHECK(::pwrite(fd.get(), data.data(), 100, static_cast<off_t>(kSizeB)) == -1);
  CHECK(errno == ENOSPC);
  errno = 0;
  CHECK(::pwrite(fd.get(), data.data(), 4096, static_cast<off_t>(kSizeB + 65536)) == -1);
  CHECK(errno == ENOSPC);
  errno = 0;  // straddles the end: refused whole, not cut short
  CHECK(::pwrite(fd.get(), data.data(), 200, static_cast<off_t>(kSizeB - 100)) == -1);
  CHECK(errno == ENOSPC);
  errno = 0;  // two pages, the second one straddling the end
  CHECK(::pwrite(fd.get(), data.data(), 8192, static_cast<off_t>(kLastPageB - 4096)) == -1);
  CHECK(errno == ENOSPC);

  CHECK(rvg.io().writes().empty());
  CHECK(SizeOf(rvg.Volume("b")) == kSizeB);
  CHECK(SizeOf(rvg.spec(1).path) == kSizeB);
  CHECK(SameBytes(ReadAt(rvg.spec(1).path, kSizeB - 8192, 8192), before));
  CHECK(SameBytes(ReadAt(rvg.Volume("b"), kSizeB - 8192, 8192), before));
}

TEST_CASE("reads are short at the end of a volume and empty past it") {
  MountedRvg rvg;
  Fd writer(rvg.Volume("b"), O_RDWR);
  std::vector<char> tail = Pattern(100, 2);
  REQUIRE(::pwrite(writer.get(), tail.data(), 100, static_cast<off_t>(kSizeB - 100)) == 100);

  Fd fd(rvg.Volume("b"), O_RDONLY);
  std::vector<char> buf(4096);
  ssize_t n = ::pread(fd.get(), buf.data(), buf.size(), static_cast<off_t>(kSizeB - 100));
  REQUIRE(n == 100);
  CHECK(SameBytes(std::vector<char>(buf.begin(), buf.begin() + 100), tail));
  CHECK(::pread(fd.get(), buf.data(), buf.size(), static_cast<off_t>(kSizeB)) == 0);
  CHECK(::pread(fd.get(), buf.data(), buf.size(), static_cast<off_t>(kSizeB + 10000)) == 0);
}

TEST_CASE("a read the engine offers a descriptor for is answered from that descriptor") {
  MountedRvg rvg;
  // A stand-in "image" whose bytes differ from the real one (all zeros),
  // so the answer shows which path served it.
  const std::string shadow_path = rvg.mountpoint() + "-shadow";
  const std::vector<char> shadow = Pattern(kSizeA, 7);
  {
    std::ofstream out(shadow_path, std::ios::binary);
    out.write(shadow.data(), static_cast<std::streamsize>(shadow.size()));
  }
  Fd shadow_fd(shadow_path, O_RDONLY);
  rvg.io().direct_fd = shadow_fd.get();
  // O_DIRECT: past the mount's page cache, every read reaches the daemon.
  Fd direct(rvg.Volume("a"), O_RDONLY | O_DIRECT);
  alignas(4096) static char buf[3 * 4096];
  REQUIRE(::pread(direct.get(), buf, sizeof(buf), 8192) == static_cast<ssize_t>(sizeof(buf)));
  CHECK(SameBytes(std::vector<char>(buf, buf + sizeof(buf)),
                  std::vector<char>(shadow.begin() + 8192, shadow.begin() + 8192 + sizeof(buf))));

  rvg.io().direct_fd = -1;  // the engine holds newer data: Read() serves
  REQUIRE(::pread(direct.get(), buf, sizeof(buf), 8192) == static_cast<ssize_t>(sizeof(buf)));
  CHECK(SameBytes(std::vector<char>(buf, buf + sizeof(buf)), std::vector<char>(sizeof(buf), 0)));
  ::unlink(shadow_path.c_str());
}

TEST_CASE("fsync and fdatasync reach VolumeIo::Flush; close does not") {
  MountedRvg rvg;
  Fd fd(rvg.Volume("a"), O_RDWR);
  std::vector<char> data = Pattern(4096, 3);
  REQUIRE(::pwrite(fd.get(), data.data(), data.size(), 0) == 4096);
  int before = rvg.io().flushes();
  REQUIRE(::fsync(fd.get()) == 0);
  CHECK(rvg.io().flushes() == before + 1);
  REQUIRE(::fdatasync(fd.get()) == 0);
  CHECK(rvg.io().flushes() == before + 2);
  fd.Close();
  CHECK(rvg.io().flushes() == before + 2);
}

TEST_CASE("O_DSYNC and O_SYNC handles, and RWF_DSYNC writes, use the strict contract") {
  MountedRvg rvg;
  std::vector<char> data = Pattern(4096, 4);
  auto last_write_strict = [&rvg] {
    std::vector<WriteCall> writes = rvg.io().writes();
    REQUIRE_FALSE(writes.empty());
    return writes.back().strict;
  };

  Fd plain(rvg.Volume("a"), O_RDWR);
  REQUIRE(::pwrite(plain.get(), data.data(), data.size(), 0) == 4096);
  CHECK_FALSE(last_write_strict());

  Fd dsync(rvg.Volume("a"), O_RDWR | O_DSYNC);
  REQUIRE(::pwrite(dsync.get(), data.data(), data.size(), 8192) == 4096);
  CHECK(last_write_strict());

  Fd sync(rvg.Volume("b"), O_WRONLY | O_SYNC);
  REQUIRE(::pwrite(sync.get(), data.data(), data.size(), 0) == 4096);
  CHECK(last_write_strict());

  struct iovec iov = {data.data(), data.size()};
  REQUIRE(::pwritev2(plain.get(), &iov, 1, 16384, RWF_DSYNC) == 4096);
  CHECK(last_write_strict());
  REQUIRE(::pwrite(plain.get(), data.data(), data.size(), 0) == 4096);
  CHECK_FALSE(last_write_strict());
}

TEST_CASE("files cannot be created, removed, renamed or resized") {
  MountedRvg rvg;
  const std::string a = rvg.Volume("a");
  errno = 0;
  CHECK(::open(rvg.Volume("new").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600) == -1);
  CHECK(errno == EPERM);
  errno = 0;
  CHECK(::mknod(rvg.Volume("node").c_str(), S_IFREG | 0600, 0) == -1);
  CHECK(errno == EPERM);
  errno = 0;
  CHECK(::mkdir(rvg.Volume("dir").c_str(), 0700) == -1);
  CHECK(errno == EPERM);
  errno = 0;
  CHECK(::unlink(a.c_str()) == -1);
  CHECK(errno == EPERM);
  errno = 0;
  CHECK(::rename(a.c_str(), rvg.Volume("c").c_str()) == -1);
  CHECK(errno == EPERM);
  errno = 0;
  CHECK(::truncate(a.c_str(), 0) == -1);
  CHECK(errno == EPERM);
  errno = 0;
  CHECK(::truncate(a.c_str(), kSizeA + 4096) == -1);
  CHECK(errno == EPERM);
  errno = 0;
  CHECK(::open(a.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC) == -1);
  CHECK(errno == EPERM);
  errno = 0;
  CHECK(::chmod(a.c_str(), 0644) == -1);
  CHECK(errno == EPERM);

  // Requests that change nothing are fine.
  CHECK(::truncate(a.c_str(), kSizeA) == 0);
  CHECK(::chmod(a.c_str(), 0600) == 0);

  CHECK(SizeOf(a) == kSizeA);
  CHECK(SizeOf(rvg.spec(0).path) == kSizeA);
  struct stat st;
  CHECK(::stat(rvg.Volume("c").c_str(), &st) == -1);
}

TEST_CASE("statfs reports the volumes as a full disk of their total size") {
  MountedRvg rvg;
  struct statvfs sv;
  REQUIRE(::statvfs(rvg.mountpoint().c_str(), &sv) == 0);
  CHECK(sv.f_frsize == 4096);
  CHECK(sv.f_blocks == (kSizeA + kSizeB + 4095) / 4096);
  CHECK(sv.f_bfree == 0);
  CHECK(sv.f_bavail == 0);
}

TEST_CASE("unmount is refused while a volume is open and succeeds once it is closed") {
  MountedRvg rvg;
  Fd fd(rvg.Volume("a"), O_RDWR);

  rvg::Status refused = rvg.fs().Unmount();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == EBUSY);
  CHECK(refused.message() == "cannot unmount " + rvg.mountpoint() +
                                 ": a volume is in use (loop device or open file); detach it "
                                 "first");
  CHECK(IsMounted(rvg.mountpoint()));
  // Still serving, through the open handle and by path.
  std::vector<char> data = Pattern(4096, 5);
  CHECK(::pwrite(fd.get(), data.data(), data.size(), 4096) == 4096);
  CHECK(SameBytes(ReadAt(rvg.Volume("a"), 4096, 4096), data));

  fd.Close();
  rvg::Status unmounted = rvg.fs().Unmount();
  INFO(unmounted.message());
  CHECK(unmounted.ok());
  CHECK_FALSE(IsMounted(rvg.mountpoint()));
  struct stat st;
  CHECK(::stat(rvg.Volume("a").c_str(), &st) == -1);
  CHECK(errno == ENOENT);
  CHECK(rvg.fs().Unmount().ok());  // a second call has nothing to do
}

TEST_CASE("destroying a mount in use detaches it and fails what still held it") {
  MountedRvg rvg;
  Fd fd(rvg.Volume("a"), O_RDWR);
  rvg.DestroyFs();
  CHECK_FALSE(IsMounted(rvg.mountpoint()));
  char byte = 0;
  errno = 0;
  CHECK(::pread(fd.get(), &byte, 1, 0) == -1);
  CHECK(errno == ENOTCONN);
}

TEST_CASE("mounting refuses a mountpoint that is not an empty directory") {
  TempDir dir;
  std::vector<rvg::VolumeSpec> specs = {{1, "a", dir.path() + "/a.img", 1 << 20}};
  REQUIRE(rvg::VolumeSet::CreateImages(specs).ok());
  auto set = rvg::VolumeSet::Open(specs);
  REQUIRE(set.ok());
  RecordingIo io(set.value().get());

  auto fs = rvg::RvgFs::Mount(&io, dir.path(), "rvg:testrvg");  // holds a.img
  REQUIRE_FALSE(fs.ok());
  CHECK(fs.status().message() == "mountpoint " + dir.path() +
                                     " is not empty; mounting would hide its files, give an "
                                     "empty directory");
  CHECK_FALSE(IsMounted(dir.path()));
}
