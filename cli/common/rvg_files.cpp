#include "cli/common/rvg_files.h"

namespace rvg {

Result<std::unique_ptr<VolumeSet>> OpenLockedVolumes(const RvgConfig& config) {
  Result<std::unique_ptr<VolumeSet>> volumes = VolumeSet::Open(config.volumes);
  if (!volumes.ok()) return volumes;
  Status status = (*volumes)->Lock();
  if (!status.ok()) return status;
  return volumes;
}

Result<std::unique_ptr<Srl>> OpenLockedSrl(const RvgConfig& config) {
  Result<std::unique_ptr<Srl>> srl = Srl::Open(config.srl_path, config.srl_uuid);
  if (!srl.ok()) return srl;
  Status status = (*srl)->Lock();
  if (!status.ok()) return status;
  return srl;
}

}  // namespace rvg
