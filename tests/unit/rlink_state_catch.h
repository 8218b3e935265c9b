// Catch2 prints an RlinkState by its name, not its number.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "core/rlink_state_machine.h"

namespace Catch {
template <>
struct StringMaker<rvg::RlinkState> {
  static std::string convert(rvg::RlinkState s) { return rvg::RlinkStateName(s); }
};
}  // namespace Catch
