// RvgFs: the libfuse3 filesystem that presents an RVG's volumes as files.
//
// The mount holds one regular file per volume, `MOUNT/NAME`, of exactly the
// volume's size; nothing can be created, removed, renamed or resized. Reads
// and writes go to a VolumeIo; fsync/fdatasync call VolumeIo::Flush();
// handles opened with O_SYNC or O_DSYNC write with the strict contract.
// Writes past the end of a volume fail with ENOSPC (as on a block device);
// reads past the end return short/empty.
//
// The session is multi-threaded with max_write = 1 MiB.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "core/volume_io.h"

namespace rvg {

class RvgFs {
 public:
  // Mounts `io`'s volumes at `mountpoint` (an existing empty directory) and
  // starts serving on background threads. Unprivileged users mount through
  // fusermount3. `fsname` shows in /proc/mounts ("rvg:RVG").
  static Result<std::unique_ptr<RvgFs>> Mount(VolumeIo* io, const std::string& mountpoint,
                                              const std::string& fsname);

  // Unmounts (refusing with a clear error, and staying mounted, while a
  // volume is busy, e.g. held by a loop device) and stops the session.
  // `on_detached` runs once the kernel mount is gone and before the session
  // waits for its worker threads: the place to end engine waits (a full
  // SRL) that would otherwise keep a worker, and so the stop, blocked.
  Status Unmount(const std::function<void()>& on_detached = {});

  // Unmounts lazily whatever the state; used on fatal paths and in the
  // destructor if Unmount() did not succeed.
  ~RvgFs();

 private:
  struct Impl;
  explicit RvgFs(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rvg
