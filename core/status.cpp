#include "core/status.h"

#include <cstring>

namespace rvg {

Status Status::FromErrno(int err, const std::string& what) {
  return Status(err == 0 ? EIO : err, what + ": " + std::strerror(err));
}

}  // namespace rvg
