// rvg-passthrough IMAGE MOUNTDIR: serves one image file through RvgFs with
// no SRL and no replication, so that the benchmark can tell the cost of
// FUSE apart from the cost of rvg's write path.
//
// Prints "ready" on stdout once the mount is live, then serves until
// SIGTERM or SIGINT and unmounts. Everything else it prints is an error,
// on stderr.
#include <signal.h>
#include <sys/stat.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/volume_io.h"
#include "core/volume_set.h"
#include "fuse/rvg_fs.h"

namespace {

// Writes go straight to the image; fsync is one fdatasync of it. The
// image's own page cache and fdatasync are exactly what the raw-file
// benchmark pays, so the difference is FUSE.
class PassthroughIo : public rvg::VolumeIo {
 public:
  explicit PassthroughIo(std::unique_ptr<rvg::VolumeSet> set) : set_(std::move(set)) {}

  const std::vector<rvg::VolumeSpec>& Volumes() const override { return set_->specs(); }
  rvg::Status Read(uint32_t volume, uint64_t offset, void* buf, size_t length) override {
    return set_->Read(volume, offset, buf, length);
  }
  rvg::Status Write(uint32_t volume, uint64_t offset, const void* data, size_t length,
                    bool /*strict*/) override {
    return set_->Write(volume, offset, data, length);
  }
  rvg::Status Flush() override { return set_->SyncAll(); }

 private:
  std::unique_ptr<rvg::VolumeSet> set_;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "rvg-passthrough: error: %s\n", message.c_str());
  return 1;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: rvg-passthrough IMAGE MOUNTDIR\n");
    return 2;
  }
  const std::string image = argv[1];
  const std::string mountdir = argv[2];
  spdlog::set_default_logger(spdlog::stderr_color_mt("rvg-passthrough"));
  spdlog::set_level(spdlog::level::warn);

  // Blocked before any thread exists, so every thread inherits the mask and
  // sigwait below is the only taker.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  struct stat st;
  if (::stat(image.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Fail("image " + image + " is not a regular file; create it first");
  }
  // The file in the mount carries the image's name.
  std::vector<rvg::VolumeSpec> specs = {
      {1, BaseName(image), image, static_cast<uint64_t>(st.st_size)}};
  auto set = rvg::VolumeSet::Open(specs);
  if (!set.ok()) return Fail(set.status().message());
  PassthroughIo io(std::move(set.value()));

  auto fs = rvg::RvgFs::Mount(&io, mountdir, "rvg:passthrough");
  if (!fs.ok()) return Fail(fs.status().message());
  std::fputs("ready\n", stdout);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  rvg::Status status = fs.value()->Unmount();
  // On failure the destructor detaches the mount anyway: the tool is going
  // away and nothing would serve the mount after it.
  if (!status.ok()) return Fail(status.message());
  return 0;
}
