// Mountpoint hygiene before mounting: a primary rvgd that was killed leaves
// a dead FUSE mount behind ("Transport endpoint is not connected"), which
// must be detached before the restarted rvgd can mount there again. A live
// mount of anything else at the directory is refused instead.
#pragma once

#include <string>

#include "core/status.h"

namespace rvg {

// Detaches a dead FUSE mount at `dir` (lazily: nothing can be using it any
// more); fails if `dir` holds a live mount or is not a directory.
Status PrepareMountpoint(const std::string& dir);

}  // namespace rvg
