// Commands of DESIGN.md whose engine support is not in this version yet:
// their arguments are checked like any other command's (so scripts get
// the same usage errors they will get later), then they fail plainly.
#include "cli/rvgadm/arg_values.h"
#include "cli/rvgadm/command.h"
#include "cli/rvgadm/output.h"

namespace rvg {

int RunNotYetAvailable(const Context& context, const ParsedArgs& args) {
  Status status = CheckName("RVG", args.positional()[0]);
  if (status.ok() && args.positional().size() > 1) {
    status = CheckName("secondary", args.positional()[1]);
  }
  if (status.ok() && args.Has("--full") && args.Has("--checksum")) {
    status = Status::Error(context.spec->name + ": --full and --checksum exclude each other");
  }
  if (status.ok() && context.spec->name == "resolve" && !args.Has("--discard-local")) {
    status = Status::Error(
        "resolve: --discard-local is required: it names this host as the one whose changes "
        "since the split are thrown away");
  }
  if (!status.ok()) return ReportUsage(context.spec, status.message());
  return ReportError(context.spec->name + " is not available in this version of rvg yet");
}

}  // namespace rvg
