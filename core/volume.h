// VolumeSpec: the identity of one volume of an RVG.
#pragma once

#include <cstdint>
#include <string>

namespace rvg {

struct VolumeSpec {
  uint32_t id = 0;     // RVG-wide, stable, the same on every host
  std::string name;    // the file name in the FUSE mount
  std::string path;    // the image file on this host
  uint64_t size = 0;   // bytes; identical on every host
};

}  // namespace rvg
