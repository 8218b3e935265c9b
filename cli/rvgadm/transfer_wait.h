// `--wait`: rvgadm follows a transfer on one RLINK (a full sync, a resync,
// and later a verify) by polling rvgd's status over the control socket, as
// `status` does, and shows its progress (cli/common/progress_bar.h) until
// it is over.
//
// The loop has no deadline: a resync of a large volume over a slow link
// takes what it takes, and a secondary that is away for a while is
// waited for (the RLINK stays in dcm and the resync resumes when it comes
// back). It ends when the transfer is over, when the RLINK fails (an
// error that retrying cannot cure, or it went stale), or when rvgd stops;
// Ctrl-C leaves the transfer running in rvgd.
//
// What "over" means is the caller's: a judge reads the RLINK's status
// object and says going (with the figures to show), done or failed. A
// verify adds a judge of its own and reuses the loop and the bar.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/common/home.h"
#include "cli/common/progress_bar.h"
#include "core/status.h"

namespace rvg {

struct TransferVerdict {
  enum class Kind { kGoing, kDone, kFailed };
  Kind kind = Kind::kGoing;
  std::optional<ProgressFigures> figures;  // shown while going
  std::string state;                       // a few words beside them
  std::string error;                       // kFailed: why
};

// Reads one RLINK object of `status --json`.
using TransferJudge = std::function<TransferVerdict(const nlohmann::json& rlink)>;

// A bitmap resync (full or not): going while the RLINK is dcm or
// resyncing or reports a resync; failed when it is failed or stale; done
// otherwise.
TransferVerdict JudgeResync(const nlohmann::json& rlink);

// Polls the status of RLINK `sec` of `rvg` until `judge` says done (OK)
// or failed (an error carrying the RLINK's last error), showing progress
// labelled `label`; fails when rvgd stops answering for good.
Status WaitForTransfer(const Home& home, const std::string& rvg, const std::string& sec,
                       const std::string& label, const TransferJudge& judge);

}  // namespace rvg
