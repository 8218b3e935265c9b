// Random identities: RVG, SRL and generation uuids.
#pragma once

#include <string>

namespace rvg {

// A random (version 4) UUID, 8-4-4-4-12 lower-case hex digits, from
// std::random_device.
std::string NewUuid();

}  // namespace rvg
