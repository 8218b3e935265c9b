#include "cli/rvgd/step_down.h"

#include <spdlog/spdlog.h>

#include "core/failback_bitmap.h"

namespace rvg {

RoleChange PlanStepDown(const RvgConfig& config, const PrimaryRvg& engine,
                        const StepDownCause& cause, std::string* note) {
  Result<std::vector<VolumeExtent>> written = engine.ExtentsSince(cause.fork_seq);
  Result<std::vector<BitmapChunk>> chunks = Status::Error("not read");
  if (written.ok()) {
    chunks = FailbackChunks(config.volumes, config.region_size, *written);
    if (!chunks.ok()) written = chunks.status();
  }
  if (!written.ok()) {
    *note = "the writes this host made from seq " + std::to_string(cause.fork_seq) +
            " on cannot be listed (" + written.status().message() +
            "): the failback resyncs every region";
    spdlog::warn("step-down: {}", *note);
    chunks = FailbackChunks(config.volumes, config.region_size, WholeVolumes(config.volumes));
  } else {
    uint64_t bytes = 0;
    for (const VolumeExtent& e : *written) bytes += e.length;
    *note = std::to_string(written->size()) + " writes (" + std::to_string(bytes) +
            " bytes) made here from seq " + std::to_string(cause.fork_seq) + " on are to be "
            "rolled back by " + cause.by;
  }
  RoleChange change;
  change.role = "secondary";
  const std::string why = "replaced by " + cause.by + " (its line begins at seq " +
                          std::to_string(cause.fork_seq) + ")";
  // The value is the first seq to be rolled back: the failback bitmap
  // covers what this host wrote from there on, and no earlier fork.
  change.set_flags.push_back({"failback", std::to_string(cause.fork_seq), 0, why});
  change.history = cause.history;
  for (const char* flag : {"last_owner", "replaced_by", "source", "data_corrupt", "split_brain"}) {
    change.clear_flags.push_back(flag);
  }
  change.failback_bitmap = chunks.ok() ? *chunks : std::vector<BitmapChunk>();
  return change;
}

}  // namespace rvg
