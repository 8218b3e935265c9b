#include "cli/rvgadm/status_fetch.h"

#include <algorithm>

#include "cli/common/secondary_store.h"
#include "cli/common/status_view.h"
#include "cli/rvgadm/daemon_client.h"
#include "cli/rvgadm/state_access.h"

namespace rvg {

namespace {

constexpr int kStatusTimeoutMs = 3000;

Result<nlohmann::json> LiveStatus(const Home& home, const std::string& rvg, const DaemonState& state) {
  if (!state.answering) {
    return Status::Error("rvgd for RVG " + rvg + " (pid " + std::to_string(state.pid) +
                         ") is busy with another request (a drain?) and did not answer; "
                         "try again when it is done");
  }
  Result<nlohmann::json> reply = AskDaemon(home, rvg, {{"cmd", "status"}}, kStatusTimeoutMs);
  if (!reply.ok()) return reply.status().Annotate("asking rvgd for the status of RVG " + rvg);
  auto status = reply->find("status");
  if (status == reply->end() || !status->is_object()) {
    return Status::Error("rvgd for RVG " + rvg + " answered status without a status object");
  }
  return *status;
}

// Seqs as state.db last recorded them. A primary's newest seq lives in its
// SRL; what state.db knows is how far its RLINKs got and where the current
// generation began.
void FillStoredSeqs(StateDb& db, RvgLive* live) {
  const std::string& rvg = live->config.name;
  if (live->config.role == "secondary") {
    Result<uint64_t> applied = db.AppliedSeq(rvg);
    live->applied_seq = applied.ok() ? *applied : 0;
    live->last_seq = live->applied_seq;
    return;
  }
  uint64_t last = 0;
  Result<GenerationHistory> generations = db.Generations(rvg);
  if (generations.ok() && !generations->empty() && generations->back().start_seq > 0) {
    last = generations->back().start_seq - 1;
  }
  for (const RlinkLive& rlink : live->rlinks) last = std::max(last, rlink.config.sent_seq);
  live->last_seq = last;
  live->applied_seq = last;  // a stopped primary applied everything it logged
}

Result<RvgLive> StoredLive(StateDb& db, const Home& home, const std::string& rvg) {
  RvgLive live;
  Result<RvgConfig> config = LoadRvg(db, home, rvg);
  if (!config.ok()) return config.status();
  live.config = *config;
  Result<std::vector<FlagEntry>> flags = db.Flags(rvg);
  if (!flags.ok()) return flags.status();
  live.flags = *flags;
  live.consistent = !FlaggedInconsistent(live.flags);
  live.undo = StoredUndo(home, live.config, live.consistent);
  Result<std::vector<RlinkConfig>> rlinks = db.ListRlinks(rvg);
  if (!rlinks.ok()) return rlinks.status();
  for (const RlinkConfig& rlink : *rlinks) {
    RlinkLive r;
    r.config = rlink;
    live.rlinks.push_back(r);
  }
  FillStoredSeqs(db, &live);
  for (RlinkLive& rlink : live.rlinks) {
    uint64_t acked = rlink.config.data_acked_seq;
    rlink.writes_behind = live.last_seq > acked ? live.last_seq - acked : 0;
  }
  return live;
}

}  // namespace

Result<nlohmann::json> FetchStatus(const Home& home, const std::string& rvg) {
  Result<DaemonState> state = ProbeDaemon(home, rvg);
  if (!state.ok()) return state.status();
  if (state->running) return LiveStatus(home, rvg, *state);
  Result<std::unique_ptr<StateDb>> db = OpenExistingState(home, rvg);
  if (!db.ok()) return db.status();
  Result<RvgLive> live = StoredLive(**db, home, rvg);
  if (!live.ok()) return live.status();
  return StatusJson(*live);
}

}  // namespace rvg
