// The primary role's answers to the control socket: status --json,
// drain, the RLINK requests of rvgadm (pause ... reload) and force-online
// (primary_daemon.h).
#include "cli/rvgd/primary_daemon.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "cli/common/status_view.h"

namespace rvg {

namespace {

// The last verify of an RLINK, for status --json (null when none ran).
nlohmann::json VerifyJson(const VerifyReport& r, const std::vector<VolumeSpec>& volumes) {
  static const char* const kStates[] = {"none", "running", "done", "failed"};
  if (r.state == VerifyReport::State::kNone) return nullptr;
  nlohmann::json differences = nlohmann::json::array();
  for (const VolumeExtent& d : r.differences) {
    std::string name = std::to_string(d.volume);
    for (const VolumeSpec& v : volumes) {
      if (v.id == d.volume) name = v.name;
    }
    differences.push_back({{"volume", name}, {"offset", d.offset}, {"length", d.length}});
  }
  return {{"run", r.run},
          {"state", kStates[static_cast<int>(r.state)]},
          {"done", r.bytes_done},
          {"total", r.bytes_total},
          {"rechecks", r.rechecks},
          {"unverified_bytes", r.unverified_bytes},
          {"differing_bytes", r.differing_bytes},
          {"differences", differences},
          {"error", r.error}};
}

}  // namespace

nlohmann::json PrimaryDaemon::StatusJson() {
  RvgLive live;
  live.config = ctx_.config;
  live.config.generation = line_->current();  // force-online may have begun one
  live.running = true;
  live.pid = static_cast<int>(getpid());
  live.mount = ctx_.mount;
  live.last_seq = engine_->last_seq();
  live.applied_seq = live.last_seq;
  live.srl_used = engine_->srl_used_bytes();
  live.srl_capacity = engine_->srl_capacity_bytes();
  auto flags = ctx_.db->Run([&](StateDb& db) { return db.Flags(ctx_.config.name); });
  if (flags.ok()) live.flags = *flags;
  const std::vector<RlinkSnapshot> snaps = rlinks_->Snapshot();
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(configs_mu_);
  for (size_t i = 0; i < rlink_configs_.size(); ++i) {
    RlinkLive r;
    r.config = rlink_configs_[i];
    const RlinkSnapshot& p = snaps[i];
    r.config.state = RlinkStateName(p.state);
    r.config.sent_seq = p.sent_seq;
    r.config.net_acked_seq = p.net_acked_seq;
    r.config.data_acked_seq = p.data_acked_seq;
    r.sync_effective = p.sync_effective;
    r.latency_protection = p.latency_protection;
    r.srl_protection = p.state == RlinkState::kDcm || p.state == RlinkState::kResyncing ||
                       (engine_->srl_full() && p.policy.srlprot == SrlProt::kDcm &&
                        (p.state == RlinkState::kConnected || p.state == RlinkState::kPaused));
    if (i < senders_.size()) {
      r.resync = senders_[i]->resync_progress(now);
      r.counters = senders_[i]->resync_counters();
      const RlinkSender& sender = *senders_[i];
      r.measures = RlinkMeasures{sender.net_ack_latency().Take(), sender.data_ack_latency().Take(),
                                 sender.rejected_messages().Named(RejectReasonName),
                                 sender.errors().Named(LinkErrorName)};
    }
    r.dcm_dirty_bytes = dcm_->dirty_bytes(i);
    const uint64_t acked = std::min(r.config.data_acked_seq, live.last_seq);
    const PrimaryRvg::Backlog backlog = engine_->BacklogAfter(acked, now);
    r.writes_behind = live.last_seq - acked;
    r.bytes_behind = backlog.data_bytes;
    r.seconds_behind = backlog.seconds;
    r.srl_used_bytes = backlog.srl_bytes;
    if (i < senders_.size()) r.sending_from = senders_[i]->sending_from();
    live.rlinks.push_back(r);
  }
  nlohmann::json j = rvg::StatusJson(live);
  for (size_t i = 0; i < senders_.size() && i < j["rlinks"].size(); ++i) {
    j["rlinks"][i]["last_error"] = senders_[i]->last_error();
    const std::string split = senders_[i]->split_brain();
    if (!split.empty()) {
      j["rlinks"][i]["state"] = "split-brain";
      j["rlinks"][i]["split_brain"] = split;
    }
    if (auto wait = senders_[i]->source_waiting()) {
      j["rlinks"][i]["state"] = "waiting for previous source";
      j["rlinks"][i]["waiting_for_source"] = {{"fork_seq", wait->fork_seq},
                                       {"seconds_left", wait->seconds_left}};
    }
    j["rlinks"][i]["verify"] = VerifyJson(senders_[i]->verifier().report(), ctx_.config.volumes);
  }
  Status health = engine_->health();
  j["health"] = health.ok() ? "ok" : health.message();
  j["srl"]["full"] = engine_->srl_full();
  return j;
}

Status PrimaryDaemon::Drain(const std::string& rlink, double timeout_s) {
  const uint64_t target = engine_->last_seq();
  if (!rlink.empty() && !rlinks_->Find(rlink)) return Status::Error("no secondary named " + rlink + " in RVG " + ctx_.config.name);
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  for (;;) {
    std::string behind;
    for (const RlinkSnapshot& p : rlinks_->Snapshot()) {
      if (!rlink.empty() && p.name != rlink) continue;
      if (p.data_acked_seq < target) {
        behind += (behind.empty() ? "" : ", ") + p.name + " is " +
                  std::to_string(target - p.data_acked_seq) + " writes behind (" +
                  RlinkStateName(p.state) + ")";
      }
    }
    if (behind.empty()) return Status::Ok();
    if (stopping_) {
      return Status::Error("drain ended: rvgd for RVG " + ctx_.config.name +
                           " is stopping (" + behind + ")", ECANCELED);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Error("drain timed out after " + std::to_string(static_cast<int>(timeout_s)) +
                           "s: " + behind);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// `rvgadm set` has already written the attributes to state.db (the one
// source of truth); "reload" reads them back and hands them to the state
// machine, so a change applies without a restart. Pause and resume change
// the state machine, and the next checkpoint persists them.
Result<std::string> PrimaryDaemon::ControlRlink(const std::string& rlink,
                                                const std::string& action) {
  std::optional<size_t> i = rlinks_->Find(rlink);
  if (!i) return Status::Error("no secondary named " + rlink + " in RVG " + ctx_.config.name);
  Status st;
  std::string note;
  if (action == "pause") {
    st = rlinks_->Pause(*i);
  } else if (action == "resume") {
    st = rlinks_->Resume(*i);
  } else if (action == "stoprep") {
    // Stopped = stale: the SRL no longer keeps anything for it, and only a
    // full sync brings it back. Its bitmap is of no use any more.
    rlinks_->MarkStale(*i, "rvgadm stoprep");
    st = dcm_->ClearAll(*i);
    if (st.ok()) st = CompareResync(rlink, *i, false);
  } else if (action == "startrep_full" || action == "startrep_checksum") {
    st = engine_->StartFullSync(*i);
    if (st.ok()) senders_[*i]->Wake();  // a sender waiting out a stale refusal tries now
    // Only a resync that was started compares: a refused startrep must not
    // leave a later, unrelated resync comparing every region.
    if (st.ok()) st = CompareResync(rlink, *i, action == "startrep_checksum");
  } else if (action == "verify") {
    // Only a connected secondary that is a copy can be compared.
    const RlinkState state = rlinks_->state(*i);
    if (state != RlinkState::kConnected) {
      return Status::Error("RLINK " + rlink + " is " + RlinkStateName(state) +
                           ": verify needs it connected and not resyncing");
    }
    std::string why;
    if (senders_[*i]->verifier().Start(&why) == 0) return Status::Error(why);
    senders_[*i]->Wake();
    return std::string();
  } else if (action == "resync_full") {
    st = engine_->ResyncFull(*i);
    if (st.ok()) senders_[*i]->EndSourceWait();
  } else if (action == "resync") {
    Result<bool> owed = engine_->ResyncDirty(*i);
    st = owed.status();
    if (owed.ok() && !*owed) {
      note = "nothing to resync: the bitmap of RLINK " + rlink +
             " is clean (rvgadm resync --full copies every region; rvgadm verify compares them)";
    }
  } else if (action == "reload") {
    Result<RlinkConfig> config =
        ctx_.db->Run([&](StateDb& db) { return db.GetRlink(ctx_.config.name, rlink); });
    if (!config.ok()) return config.status();
    Result<RlinkPolicy> policy = PolicyOf(*config);
    if (!policy.ok()) return policy.status();
    rlinks_->SetPolicy(*i, *policy);
    std::lock_guard<std::mutex> lock(configs_mu_);
    // Only the attributes: a new address or key takes effect at the next start.
    RlinkConfig& shown = rlink_configs_[*i];
    shown.synchronous = config->synchronous;
    shown.sync_ack = config->sync_ack;
    shown.ack_timeout = config->ack_timeout;
    shown.latencyprot = config->latencyprot;
    shown.latency_high_mark = config->latency_high_mark;
    shown.latency_low_mark = config->latency_low_mark;
    shown.srlprot = config->srlprot;
    shown.bandwidth_limit = config->bandwidth_limit;
    shown.source_wait = config->source_wait;
    senders_[*i]->SetSourceWait(config->source_wait);
    spdlog::info("rlink {}: attributes reloaded: synchronous={} sync_ack={} ack_timeout={}s "
                 "latencyprot={} marks {}/{} srlprot={} bandwidth_limit={}",
                 rlink, config->synchronous, config->sync_ack, config->ack_timeout,
                 config->latencyprot, config->latency_low_mark, config->latency_high_mark,
                 config->srlprot, config->bandwidth_limit);
    return std::string();
  } else {
    return Status::Error("unknown RLINK action \"" + action + "\"");
  }
  if (!st.ok()) return st;
  // Persist now: a pause must survive a crash right after rvgadm returns.
  st = PersistRlinkProgress(rlinks_->Snapshot());
  if (!st.ok()) return st;
  return note;
}

// The resync of RLINK `i` compares region hashes (startrep --checksum)
// until it completes; the flag keeps that across a restart, which would
// otherwise send every region still owed, the identical ones too.
Status PrimaryDaemon::CompareResync(const std::string& rlink, size_t i, bool compare) {
  senders_[i]->CompareResync(compare);
  return PersistCompareFlag(rlink, compare);
}

Status PrimaryDaemon::PersistCompareFlag(const std::string& rlink, bool compare) {
  return ctx_.db->Run([&](StateDb& db) {
    return compare ? db.SetFlag(ctx_.config.name, CompareResyncFlag(rlink), "1",
                                "startrep --checksum: regions are compared before they travel")
                   : db.ClearFlag(ctx_.config.name, CompareResyncFlag(rlink));
  });
}

}  // namespace rvg
