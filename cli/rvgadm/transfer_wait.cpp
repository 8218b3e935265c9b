#include "cli/rvgadm/transfer_wait.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "cli/rvgadm/daemon_client.h"

namespace rvg {

namespace {

using Clock = std::chrono::steady_clock;

// Often enough for a bar that moves, seldom enough to cost rvgd nothing.
// A short transfer (a sparse volume, a few dirty regions) ends within a
// fraction of a second, so the first polls come sooner: 25, 50, 100 ms...
constexpr auto kPollInterval = std::chrono::milliseconds(500);
constexpr auto kFirstPollInterval = std::chrono::milliseconds(25);
constexpr int kStatusTimeoutMs = 3000;
// rvgd answers status between other requests; a few missed polls in a row
// (a long stop, say) are waited out, a daemon that is gone is not.
constexpr int kMaxMissedPolls = 20;

std::string StringField(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The RLINK named `sec` in a status reply, or null.
const nlohmann::json* FindRlink(const nlohmann::json& status, const std::string& sec) {
  auto rlinks = status.find("rlinks");
  if (rlinks == status.end() || !rlinks->is_array()) return nullptr;
  for (const nlohmann::json& rlink : *rlinks) {
    if (StringField(rlink, "name") == sec) return &rlink;
  }
  return nullptr;
}

// The wait before the next poll: the doubling `interval`, or less when the
// transfer's ETA says it ends sooner, so that --wait returns close to the
// end instead of up to kPollInterval after it. The ETA is 0 from the last
// ACK until the end is through (and stays 0 if the RLINK is paused then),
// so a wait the ETA shortened is at least `*near_end`, which doubles each
// time: 25, 50, 100 ms... rather than polling at 25 ms for as long as that
// takes.
std::chrono::milliseconds NextPollDelay(std::chrono::milliseconds interval,
                                        const std::optional<ProgressFigures>& figures,
                                        std::chrono::milliseconds* near_end) {
  if (!figures || !figures->eta_s || !(*figures->eta_s >= 0)) return interval;
  const auto eta = std::chrono::milliseconds(
      static_cast<int64_t>(std::min(*figures->eta_s, 3600.0) * 1000.0));
  if (eta >= interval) return interval;
  const std::chrono::milliseconds delay = std::clamp(eta, *near_end, interval);
  *near_end = std::min(*near_end * 2, kPollInterval);
  return delay;
}

}  // namespace

TransferVerdict JudgeResync(const nlohmann::json& rlink) {
  TransferVerdict v;
  const std::string state = StringField(rlink, "state");
  const std::string error = StringField(rlink, "last_error");
  if (state == "failed" || state == "stale") {
    v.kind = TransferVerdict::Kind::kFailed;
    v.error = "RLINK " + StringField(rlink, "name") + " is " + state +
              (error.empty() ? std::string() : ": " + error);
    return v;
  }
  auto resync = rlink.find("resync");
  v.figures = resync != rlink.end() ? ProgressFromJson(*resync) : std::nullopt;
  auto dirty = rlink.find("dcm_dirty_bytes");
  const bool owed = dirty != rlink.end() && dirty->is_number_unsigned() && dirty->get<uint64_t>() > 0;
  if (state == "paused" && (owed || v.figures)) {
    // Paused mid-transfer (the request itself refuses a paused RLINK).
    v.state = "paused: rvgadm resumerep lets it go on";
    return v;
  }
  if (state == "resyncing" || state == "dcm" || v.figures) {
    // dcm: owed regions, no resync running (yet): no session, or between two.
    if (state == "dcm") v.state = "dcm: regions owed, the resync begins once connected";
    return v;
  }
  v.kind = TransferVerdict::Kind::kDone;
  return v;
}

Status WaitForTransfer(const Home& home, const std::string& rvg, const std::string& sec,
                       const std::string& label, const TransferJudge& judge) {
  ProgressBar bar = ProgressBar::ForRvgadm(label);
  int missed = 0;
  std::chrono::milliseconds interval = kFirstPollInterval;
  std::chrono::milliseconds near_end = kFirstPollInterval;
  for (;;) {
    std::optional<ProgressFigures> figures;
    Result<nlohmann::json> reply = AskDaemon(home, rvg, {{"cmd", "status"}}, kStatusTimeoutMs);
    if (!reply.ok()) {
      Result<DaemonState> daemon = ProbeDaemon(home, rvg);
      if ((daemon.ok() && !daemon->running) || ++missed > kMaxMissedPolls) {
        bar.Clear();
        return reply.status().Annotate("following RLINK " + sec + " of RVG " + rvg +
                                       " (rvgd stopped or stopped answering; the transfer goes "
                                       "on when it runs again)");
      }
      bar.Show(std::nullopt, "rvgd did not answer; asking again", Clock::now());
    } else {
      missed = 0;
      const nlohmann::json status = reply->value("status", nlohmann::json::object());
      const nlohmann::json* rlink = FindRlink(status, sec);
      if (rlink == nullptr) {
        bar.Clear();
        return Status::Error("RVG " + rvg + " has no RLINK " + sec + " any more");
      }
      TransferVerdict v = judge(*rlink);
      if (v.kind == TransferVerdict::Kind::kDone) {
        bar.Clear();
        return Status::Ok();
      }
      if (v.kind == TransferVerdict::Kind::kFailed) {
        bar.Clear();
        return Status::Error(v.error);
      }
      bar.Show(v.figures, v.state, Clock::now());
      figures = v.figures;
    }
    std::this_thread::sleep_for(NextPollDelay(interval, figures, &near_end));
    interval = std::min(interval * 2, kPollInterval);
  }
}

}  // namespace rvg
