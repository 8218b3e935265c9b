// The data files of an RVG, opened for writing by whoever may write them:
// rvgd (both roles write their images and SRL) and rvgadm commands that
// work on a stopped RVG (rollback). Each locks them first (File::Lock):
// one writer per file, so a second rvgd, an rvgadm command while rvgd
// runs, or an RVG given the same paths fails here naming the file and the
// holder.
#pragma once

#include <memory>

#include "core/srl.h"
#include "core/status.h"
#include "core/volume_set.h"
#include "state/state_db.h"

namespace rvg {

Result<std::unique_ptr<VolumeSet>> OpenLockedVolumes(const RvgConfig& config);
Result<std::unique_ptr<Srl>> OpenLockedSrl(const RvgConfig& config);

}  // namespace rvg
