// What RvgFs's session lifecycle (rvg_fs.cpp) and its request handlers
// (volume_ops.cpp) share. Internal to fuse/: nothing outside it includes this.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <vector>

#include "core/volume_io.h"

struct fuse_lowlevel_ops;

namespace rvg {

// What the request handlers serve. Filled before the session starts and
// never modified afterwards, so handlers on any worker thread read it freely.
struct FsState {
  VolumeIo* io = nullptr;
  std::vector<VolumeSpec> volumes;  // index i is inode kFirstVolumeIno + i
  uid_t uid = 0;
  gid_t gid = 0;
  struct timespec mount_time = {};
};

// The handlers for a session whose userdata is an FsState.
const struct fuse_lowlevel_ops& VolumeOps();

}  // namespace rvg
