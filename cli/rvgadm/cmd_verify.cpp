// rvgadm verify RVG SEC [--wait]: asks the running primary to compare
// every region with the secondary (net/range_verifier.h), follows the run
// through status with a progress bar (always: the outcome is the point;
// --wait is accepted for symmetry with startrep and resync), and prints
// the ranges that differ. Exit 0 when the secondary
// holds the same bytes, 1 when it does not or the verify failed.
#include <algorithm>
#include <chrono>

#include "cli/rvgadm/command.h"
#include "cli/rvgadm/daemon_client.h"
#include "cli/rvgadm/output.h"
#include "cli/rvgadm/transfer_wait.h"

namespace rvg {

namespace {

constexpr int kStatusTimeoutMs = 3000;
// rvgd starts a verify at the sender's next turn: well within this.
constexpr auto kStartDeadline = std::chrono::seconds(30);

// The RLINK's entry in the running daemon's status.
Result<nlohmann::json> RlinkStatus(const Home& home, const std::string& rvg,
                                   const std::string& sec) {
  Result<nlohmann::json> reply = AskDaemon(home, rvg, {{"cmd", "status"}}, kStatusTimeoutMs);
  if (!reply.ok()) return reply.status().Annotate("asking rvgd for the status of RVG " + rvg);
  const nlohmann::json& rlinks = (*reply)["status"]["rlinks"];
  if (rlinks.is_array()) {
    for (const nlohmann::json& r : rlinks) {
      if (r.value("name", "") == sec) return r;
    }
  }
  return Status::Error("no secondary named " + sec + " in RVG " + rvg);
}

uint64_t RunNumber(const nlohmann::json& rlink) {
  const auto v = rlink.find("verify");
  return v == rlink.end() || !v->is_object() ? 0 : v->value("run", uint64_t{0});
}

int Report(const std::string& rvg, const std::string& sec, const nlohmann::json& v) {
  if (v.value("state", "") == "failed") {
    return ReportError("verify of " + sec + " failed: " + v.value("error", std::string("?")));
  }
  const uint64_t differing = v.value("differing_bytes", uint64_t{0});
  const uint64_t unverified = v.value("unverified_bytes", uint64_t{0});
  const uint64_t total = v.value("total", uint64_t{0});
  for (const nlohmann::json& d : v["differences"]) {
    PrintLine("differs: volume " + d.value("volume", std::string("?")) + " offset " +
              std::to_string(d.value("offset", uint64_t{0})) + " length " +
              std::to_string(d.value("length", uint64_t{0})));
  }
  std::string tail;
  if (unverified > 0) {
    tail = "; " + std::to_string(unverified) +
           " bytes were written during every comparison and are not verified";
  }
  if (differing > 0) {
    PrintLine("verify " + rvg + " " + sec + ": " + std::to_string(differing) + " of " +
              std::to_string(total) + " bytes differ in " +
              std::to_string(v["differences"].size()) +
              " range(s); rvgadm resync " + rvg + " " + sec + " sends them" + tail);
    return kExitFailure;
  }
  PrintLine("verify " + rvg + " " + sec + ": identical (" + std::to_string(total) +
            " bytes compared, " + std::to_string(v.value("rechecks", uint64_t{0})) +
            " rechecked after writes)" + tail);
  return kExitOk;
}

}  // namespace

int RunVerify(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  const std::string& sec = args.positional()[1];
  Status st = RequireRunning(context.home, rvg);
  if (!st.ok()) return ReportError(st.Annotate("verify needs the primary's rvgd"));
  Result<nlohmann::json> before = RlinkStatus(context.home, rvg, sec);
  if (!before.ok()) return ReportError(before.status());
  const uint64_t previous = RunNumber(*before);
  st = RlinkRequest(context.home, rvg, sec, "verify");
  if (!st.ok()) return ReportError(st.Annotate("cannot verify " + sec));
  // Followed like a resync (transfer_wait.h); the judge keeps the
  // finished run's report.
  const auto started = std::chrono::steady_clock::now();
  nlohmann::json result;
  auto judge = [&](const nlohmann::json& rlink) {
    TransferVerdict verdict;
    const auto elapsed = std::chrono::steady_clock::now() - started;
    if (RunNumber(rlink) <= previous) {
      verdict.state = "starting";
      if (elapsed > kStartDeadline) {
        verdict.kind = TransferVerdict::Kind::kFailed;
        verdict.error = "rvgd did not start the verify of " + sec + " within 30 s";
      }
      return verdict;
    }
    const nlohmann::json& v = rlink["verify"];
    if (v.value("state", "") != "running") {
      result = v;
      verdict.kind = TransferVerdict::Kind::kDone;
      return verdict;
    }
    ProgressFigures f;
    f.done = v.value("done", uint64_t{0});
    f.total = v.value("total", uint64_t{0});
    const double seconds = std::chrono::duration<double>(elapsed).count();
    if (seconds >= 1 && f.done > 0) {
      f.rate = static_cast<double>(f.done) / seconds;
      f.eta_s = static_cast<double>(f.total - std::min(f.done, f.total)) / *f.rate;
    }
    verdict.figures = f;
    verdict.state = "comparing";
    return verdict;
  };
  st = WaitForTransfer(context.home, rvg, sec, "verify", judge);
  if (!st.ok()) return ReportError(st.Annotate("verify of " + sec));
  return Report(rvg, sec, result);
}

}  // namespace rvg
