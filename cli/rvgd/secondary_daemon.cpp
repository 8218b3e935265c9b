// The secondary role's life: start, history hooks, stop, status
// (secondary_daemon.h).
#include "cli/rvgd/secondary_daemon.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>

#include "cli/common/status_view.h"
#include "core/failback_bitmap.h"
#include "net/host_keys.h"

namespace rvg {


Status SecondaryDaemon::Start() {
  const RvgConfig& cfg = ctx_.config;
  if (cfg.listen.empty()) {
    return Status::Error("secondary RVG " + cfg.name + " has no listen endpoint; recreate it with --listen");
  }
  if (cfg.srl_path.empty()) {
    return Status::Error("secondary RVG " + cfg.name + " has no SRL (it was created by an older "
                         "rvg); delete it and create it again with --srl PATH:SIZE");
  }
  RlinkReceiverConfig rc;
  if (cfg.insecure) {
    // create and trust refuse this; a hand-edited state.db must not slip by.
    if (cfg.uuid.empty()) {
      return Status::Error("insecure secondary RVG " + cfg.name + " is not bound to a primary "
                           "RVG uuid; delete it and create it with --insecure --rvg-uuid UUID");
    }
    spdlog::warn("RVG {} is INSECURE (--insecure): replication traffic is neither "
                 "authenticated nor encrypted", cfg.name);
  } else {
    Result<std::vector<std::string>> accepted = AcceptedPrimaryKeys();
    if (!accepted.ok()) return accepted.status();
    Result<CurveKeyPair> keys = LoadOrCreateHostKeys(ctx_.home.dir());
    if (!keys.ok()) return keys.status();
    rc.secret_key = keys->secret_key;
    rc.primary_keys = *accepted;
  }
  rc.insecure = cfg.insecure;
  Result<std::unique_ptr<VolumeSet>> volumes = OpenLockedVolumes(cfg);
  if (!volumes.ok()) return volumes.status();
  volumes_ = std::move(*volumes);
  Result<std::unique_ptr<Srl>> srl = OpenLockedSrl(cfg);
  if (!srl.ok()) return srl.status();
  srl_ = std::move(*srl);

  applier_ = std::make_unique<SecondaryApplier>(
      volumes_.get(), srl_.get(), &store_, [this] { receiver_->NotifyApplied(); },
      SecondaryApplierOptions{}, &undo_);
  rc.rvg_name = cfg.name;
  rc.listen = cfg.listen;
  rc.rvg_uuid = cfg.uuid;
  rc.host = cfg.host;
  rc.volumes = cfg.volumes;
  if (!cfg.generation.empty()) {
    Result<GenerationHistory> history =
        ctx_.db->Run([&](StateDb& db) { return db.Generations(cfg.name); });
    if (!history.ok()) return history.status();
    rc.history = *history;
  }
  Result<std::optional<std::vector<VolumeExtent>>> failback = FailbackRanges(&rc.failback_from);
  if (!failback.ok()) return failback.status();
  rc.failback = *failback;
  // The receiver exists before the apply thread starts, which calls it.
  receiver_ = std::make_unique<RlinkReceiver>(rc, applier_.get(), Hooks(), ctx_.zmq);
  Status st = applier_->Start();
  if (!st.ok()) return st;
  st = receiver_->Start();
  if (!st.ok()) return st;
  spdlog::info("RVG {}: secondary listening on {} at applied seq {}", cfg.name, cfg.listen,
               applier_->applied_seq());
  return Status::Ok();
}

// The keys a primary may come from: the one pinned at create or by trust,
// and those of the RVG's other hosts (its RLINKs here, doc/failover.md).
Result<std::vector<std::string>> SecondaryDaemon::AcceptedPrimaryKeys() {
  const RvgConfig& cfg = ctx_.config;
  std::vector<std::string> keys;
  if (!cfg.peer_key.empty()) {
    Status valid = CheckPublicKey(cfg.peer_key, "the pinned primary key");
    if (!valid.ok()) return valid.Annotate("state.db");
    keys.push_back(cfg.peer_key);
  }
  auto rlinks = ctx_.db->Run([&](StateDb& db) { return db.ListRlinks(cfg.name); });
  if (!rlinks.ok()) return rlinks.status();
  for (const RlinkConfig& r : *rlinks) {
    if (r.peer_key.empty()) continue;
    Status valid = CheckPublicKey(r.peer_key, "the key pinned for host " + r.name);
    if (!valid.ok()) return valid.Annotate("state.db");
    keys.push_back(r.peer_key);
  }
  if (keys.empty()) {
    return Status::Error("secondary RVG " + cfg.name + " trusts no primary yet: run rvgadm "
                         "trust " + cfg.name + " KEY with the primary's rvgadm pubkey");
  }
  return keys;
}

Result<std::optional<std::vector<VolumeExtent>>> SecondaryDaemon::FailbackRanges(
    uint64_t* from) {
  const RvgConfig& cfg = ctx_.config;
  auto flags = ctx_.db->Run([&](StateDb& db) { return db.Flags(cfg.name); });
  if (!flags.ok()) return flags.status();
  bool failback = false;
  for (const FlagEntry& f : *flags) {
    if (f.name != "failback") continue;
    failback = true;
    // Unreadable: covers no fork, so every region is resynced.
    char* end = nullptr;
    const unsigned long long seq = std::strtoull(f.value.c_str(), &end, 10);
    *from = f.value.empty() || *end != '\0' || seq == 0 ? UINT64_MAX : seq;
  }
  if (!failback) return std::optional<std::vector<VolumeExtent>>();
  auto chunks = ctx_.db->Run([&](StateDb& db) { return db.LoadBitmap(cfg.name, ""); });
  if (!chunks.ok()) return chunks.status();
  Result<std::vector<VolumeExtent>> extents =
      FailbackExtents(cfg.volumes, cfg.region_size, *chunks);
  if (!extents.ok()) return extents.status();
  uint64_t bytes = 0;
  for (const VolumeExtent& e : *extents) bytes += e.length;
  spdlog::warn("RVG {}: this host stepped down for a fast failback: the new primary is to "
               "resync the {} bytes it wrote past the fork", cfg.name, bytes);
  return std::optional<std::vector<VolumeExtent>>(std::move(*extents));
}

Result<std::vector<VolumeExtent>> SecondaryDaemon::RollBackRanges(uint64_t fork, uint64_t held,
                                                                  const std::string& by,
                                                                  bool covered) {
  const RvgConfig& cfg = ctx_.config;
  if (srl_->next_seq() <= held) {
    return Status::Error("seqs up to " + std::to_string(held) + " are not all logged yet",
                         EAGAIN);
  }
  Result<std::vector<VolumeExtent>> written = SrlExtents(*srl_, fork, held);
  if (!written.ok() && covered) {
    // The primary's bitmap holds the previous source's report (or every
    // region): nothing of ours to add.
    spdlog::warn("RVG {}: the SRL no longer lists seqs {}..{} ({}); {} covers them",
                 cfg.name, fork, held, written.status().message(), by);
    written = std::vector<VolumeExtent>();
  }
  if (!written.ok()) {
    return Status::Error("its SRL no longer lists what they wrote (" +
                             written.status().message() + ")",
                         ENOENT);
  }
  Result<std::vector<BitmapChunk>> chunks = FailbackChunks(cfg.volumes, cfg.region_size, *written);
  if (!chunks.ok()) return chunks.status();
  RoleChange change;
  change.role = "secondary";
  const std::string why = "holds seqs " + std::to_string(fork) + ".." + std::to_string(held) +
                          " of the line that " + by + " replaced";
  change.set_flags.push_back({"failback", std::to_string(fork), 0, why});
  change.failback_bitmap = *chunks;
  Status st = ctx_.db->Run([&](StateDb& db) { return db.ChangeRole(cfg.name, change); });
  if (!st.ok()) return Status::Error("recording the failback: " + st.message(), EAGAIN);
  spdlog::warn("RVG {}: this secondary {}: the {} writes are rolled back by a fast failback",
               cfg.name, why, written->size());
  return FailbackExtents(cfg.volumes, cfg.region_size, *chunks);
}

HistoryHooks SecondaryDaemon::Hooks() {
  HistoryHooks hooks;
  hooks.adopt = [this](const std::string& uuid, const GenerationHistory& history,
                       bool end_failback) {
    return ctx_.db->Run([&](StateDb& db) {
      const std::string& rvg = ctx_.config.name;
      // Flagged failback, but the line needs no rollback (this host wrote
      // nothing past the fork): bound already, the flag goes.
      if (end_failback) return db.EndFailback(rvg, history);
      Result<RvgConfig> now = db.GetRvg(rvg);
      if (!now.ok()) return now.status();
      // Bind first (it refuses another RVG's uuid), then take the history.
      Status st = now->generation.empty() ? db.BindRvg(rvg, uuid, history.back().uuid)
                                          : Status::Ok();
      if (st.ok()) st = db.AdoptHistory(rvg, history);
      return st;
    });
  };
  hooks.followed = [this](const std::string& key, const std::string& host) { Followed(key, host); };
  hooks.follows = [this](const std::string& key, const std::string& host) {
    return Follows(key, host);
  };
  hooks.failback_end = [this](const GenerationHistory& history) {
    store_.ArmFailbackEnd(history, [this](const GenerationHistory& adopted) {
      receiver_->FailbackEnded(adopted);
    });
  };
  hooks.failback_cut = [this] { store_.DisarmFailbackEnd(); };
  hooks.roll_back = [this](uint64_t fork, uint64_t held, const std::string& by, bool covered) {
    return RollBackRanges(fork, held, by, covered);
  };
  hooks.handover = [this](const HandoverMsg& m, const std::string& key, const std::string& host) {
    return AcceptHandover(m, key, host);
  };
  hooks.split_brain = [this](const std::string& reason) {
    Status st = ctx_.db->Run(
        [&](StateDb& db) { return db.SetFlag(ctx_.config.name, "split_brain", reason, reason); });
    if (!st.ok()) spdlog::error("cannot flag the split brain: {}", st.message());
  };
  return hooks;
}

// Which host this secondary follows, as flag "primary" (its RLINK name
// here when its key is pinned on one, else the name it announced): what
// a takeover names as the source, also after this rvgd restarted.
Result<std::string> SecondaryDaemon::HostName(StateDb& db, const std::string& key,
                                              const std::string& host) {
  std::string name = host.empty() ? "unnamed" : host;
  Result<std::vector<RlinkConfig>> rlinks = db.ListRlinks(ctx_.config.name);
  if (!rlinks.ok()) return rlinks.status();
  for (const RlinkConfig& r : *rlinks) {
    if ((!key.empty() && r.peer_key == key) || (key.empty() && r.name == host)) name = r.name;
  }
  return name;
}

bool SecondaryDaemon::Follows(const std::string& key, const std::string& host) {
  Result<bool> follows = ctx_.db->Run([&](StateDb& db) -> Result<bool> {
    Result<std::string> name = HostName(db, key, host);
    if (!name.ok()) return name.status();
    Result<std::vector<FlagEntry>> flags = db.Flags(ctx_.config.name);
    if (!flags.ok()) return flags.status();
    for (const FlagEntry& f : *flags) {
      if (f.name == "primary") return f.value == *name;
    }
    return false;
  });
  return follows.ok() && *follows;
}

void SecondaryDaemon::Followed(const std::string& key, const std::string& host) {
  Status st = ctx_.db->Run([&](StateDb& db) {
    const std::string& rvg = ctx_.config.name;
    Result<std::string> found = HostName(db, key, host);
    if (!found.ok()) return found.status();
    const std::string& name = *found;
    Result<std::vector<FlagEntry>> flags = db.Flags(rvg);
    if (!flags.ok()) return flags.status();
    for (const FlagEntry& f : *flags) {
      if (f.name == "primary" && f.value == name) return Status::Ok();
    }
    spdlog::info("following primary {}", name);
    return db.SetFlag(rvg, "primary", name, "the host this secondary follows");
  });
  if (!st.ok()) spdlog::error("cannot record the primary followed: {}", st.message());
}

Status SecondaryDaemon::Shutdown() {
  if (receiver_) receiver_->Stop();
  Status st;
  if (applier_) st = applier_->Stop();
  return st;
}

// A secondary has nothing that could make a stop fail (no mount): it always
// stops, and a failed applier, already reported in status and to the
// primary, is only logged. Stopping is how an administrator fixes it.
Status SecondaryDaemon::Stop() {
  {
    // The receiver has told the old primary yes: it is a secondary by now,
    // so stopping here would leave the RVG with no primary. The main loop
    // takes the primary role right after this control pass.
    std::lock_guard<std::mutex> lock(handover_mu_);
    if (handover_) {
      return Status::Error("this host is taking over the primary role from " + handover_->from +
                           " (migrate) right now; stop it again in a moment", EBUSY);
    }
  }
  Status health = Shutdown();
  if (!health.ok()) spdlog::error("stopped after a failure: {}", health.message());
  return Status::Ok();
}

nlohmann::json SecondaryDaemon::StatusJson() {
  RvgLive live;
  live.config = ctx_.config;
  live.config.uuid = receiver_->uuid();
  live.config.generation = receiver_->generation();
  live.running = true;
  live.pid = static_cast<int>(getpid());
  live.last_seq = applier_->received_seq();
  live.applied_seq = applier_->applied_seq();
  live.srl_used = srl_->used_bytes();
  live.srl_capacity = srl_->capacity_bytes();
  live.primary_peer = receiver_->peer();
  auto flags = ctx_.db->Run([&](StateDb& db) { return db.Flags(ctx_.config.name); });
  if (flags.ok()) live.flags = *flags;
  live.consistent = !FlaggedInconsistent(live.flags);
  live.undo = undo_.summary();
  nlohmann::json j = rvg::StatusJson(live);
  j["rejected_messages"] = receiver_->rejected_messages();
  j["rejected_by_reason"] =
      NamedCountsJson(receiver_->rejected_by_reason().Named(RejectReasonName));
  j["rejected_connections"] = receiver_->rejected_connections();
  Status health = applier_->health();
  j["health"] = health.ok() ? "ok" : health.message();
  return j;
}

std::unique_ptr<Daemon> MakeSecondaryDaemon(DaemonContext context) {
  return std::make_unique<SecondaryDaemon>(std::move(context));
}

}  // namespace rvg
