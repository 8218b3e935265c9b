// FetchStatus: an RVG's `status` object (cli/common/status_view.h), live
// from its rvgd, or from state.db while rvgd is stopped. What status,
// flags, metrics, events and stats show.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cli/common/home.h"
#include "core/status.h"

namespace rvg {

Result<nlohmann::json> FetchStatus(const Home& home, const std::string& rvg);

}  // namespace rvg
