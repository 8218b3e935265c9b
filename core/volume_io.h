// VolumeIo: what the FUSE layer serves. The primary's replicating engine
// implements it; so does the plain passthrough used by the benchmark, which
// lets the benchmark isolate the cost of FUSE from the cost of replication.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/volume.h"

namespace rvg {

class VolumeIo {
 public:
  virtual ~VolumeIo() = default;

  virtual const std::vector<VolumeSpec>& Volumes() const = 0;

  // Reads exactly `length` bytes; the range is inside the volume.
  virtual Status Read(uint32_t volume, uint64_t offset, void* buf, size_t length) = 0;

  // A descriptor of the image that the caller may read the range from
  // directly, right now (the FUSE layer splices it into its reply, saving
  // the copy through a user buffer), or -1 when Read() must be used: the
  // image does not yet hold every write answered so far in the range, or
  // there is no descriptor. Like Read(), a direct read started after this
  // call sees every write answered before it.
  virtual int DirectReadFd(uint32_t /*volume*/, uint64_t /*offset*/, size_t /*length*/) {
    return -1;
  }

  // Writes `length` bytes (at most kMaxWriteBytes) inside the volume.
  // Returns once the write is answerable under the RVG's durability
  // contract; `strict` forces the strict contract for this write (a handle
  // opened with O_SYNC/O_DSYNC). An error's code() is the errno to report.
  virtual Status Write(uint32_t volume, uint64_t offset, const void* data, size_t length,
                       bool strict) = 0;

  // The durability point (fsync/fdatasync on a volume): returns once every
  // write answered before the call is durable under the contract.
  virtual Status Flush() = 0;
};

}  // namespace rvg
