// rvgadm rollback: takes a stopped secondary that an unfinished bitmap
// resync left inconsistent back to the consistent copy it had before the
// resync began, from its undo area (core/undo_area.h, doc/resync.md).
// Thin: the work is core's RollBackStoppedSecondary, the same recovery and
// UndoArea::RollBack that rvgd's applier and a future takeover use.
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/common/rvg_files.h"
#include "cli/common/secondary_store.h"
#include "cli/rvgadm/arg_values.h"
#include "cli/rvgadm/command.h"
#include "cli/rvgadm/daemon_client.h"
#include "cli/rvgadm/output.h"
#include "cli/rvgadm/state_access.h"
#include "core/secondary_rollback.h"
#include "core/size_parse.h"

namespace rvg {

int RunRollback(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  Status status = CheckName("RVG", rvg);
  if (!status.ok()) return ReportUsage(context.spec, status.message());
  Result<std::unique_ptr<StateDb>> db = OpenExistingState(context.home, rvg);
  if (!db.ok()) return ReportError(db.status());
  Result<RvgConfig> config = LoadRvg(**db, context.home, rvg);
  if (!config.ok()) return ReportError(config.status());
  if (config->role != "secondary") {
    return ReportError("RVG " + rvg + " is the primary here; rollback undoes an unfinished "
                       "resync on a secondary");
  }
  status = RequireStopped(context.home, rvg);
  if (!status.ok()) return ReportError(status);
  // Locked like rvgd locks them: an rvgd started meanwhile cannot write.
  Result<std::unique_ptr<VolumeSet>> volumes = OpenLockedVolumes(*config);
  if (!volumes.ok()) return ReportError(volumes.status());
  Result<std::unique_ptr<Srl>> srl = OpenLockedSrl(*config);
  if (!srl.ok()) return ReportError(srl.status());
  // The engine's log lines are rvgd's business: here only its warnings
  // reach the administrator, on stderr (stdout is the result).
  auto logger = spdlog::stderr_color_st("rollback");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  SecondaryStore store(rvg, [&db](const std::function<Status(StateDb&)>& fn) { return fn(**db); });
  UndoArea undo(context.home.UndoPath(rvg), config->srl_uuid);
  Result<UndoSummary> done = RollBackStoppedSecondary(volumes->get(), srl->get(), &store, &undo);
  if (!done.ok()) return ReportError(done.status().Annotate("rollback of RVG " + rvg));
  if (context.json) {
    PrintJson({{"rvg", rvg}, {"regions", done->regions}, {"bytes", done->bytes},
               {"seq", done->base_seq}});
  } else {
    PrintLine(fmt::format("RVG {} rolled back: restored {} regions ({}); the images are the "
                          "consistent copy at seq {}",
                          rvg, done->regions, FormatSize(done->bytes), done->base_seq));
  }
  return kExitOk;
}

}  // namespace rvg
