// The secondary role: listen, reorder, apply, acknowledge.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "cli/common/secondary_store.h"
#include "cli/common/status_view.h"
#include "cli/rvgd/daemon.h"
#include "core/secondary_applier.h"
#include "net/host_keys.h"
#include "net/rlink_receiver.h"

namespace rvg {

namespace {

class SecondaryDaemon : public Daemon {
 public:
  explicit SecondaryDaemon(DaemonContext context)
      : ctx_(std::move(context)),
        store_(ctx_.config.name,
               [this](const std::function<Status(StateDb&)>& fn) { return ctx_.db->Run(fn); }),
        undo_(ctx_.home.UndoPath(ctx_.config.name), ctx_.config.srl_uuid) {}
  ~SecondaryDaemon() override { Shutdown(); }

  Status Start() override;
  Status Stop() override;
  nlohmann::json StatusJson() override;
  Status Drain(const std::string&, double) override {
    return Status::Error("drain runs on the primary; this host is a secondary of RVG " +
                         ctx_.config.name);
  }


 private:
  Status Shutdown();
  Result<std::vector<std::string>> AcceptedPrimaryKeys();
  HistoryHooks Hooks();

  DaemonContext ctx_;
  SecondaryStore store_;  // applied_seq and the inconsistent flag in state.db
  // The resync undo area (HOME/RVG.undo), recovered by the applier's
  // Start(). A future `takeover` stops the applier and then calls
  // undo_.RollBack() when the images are inconsistent and an area exists.
  UndoArea undo_;
  std::unique_ptr<VolumeSet> volumes_;
  std::unique_ptr<Srl> srl_;
  std::unique_ptr<SecondaryApplier> applier_;
  std::unique_ptr<RlinkReceiver> receiver_;
};

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

HistoryHooks SecondaryDaemon::Hooks() {
  HistoryHooks hooks;
  hooks.adopt = [this](const std::string& uuid, const GenerationHistory& history) {
    return ctx_.db->Run([&](StateDb& db) {
      const std::string& rvg = ctx_.config.name;
      Result<RvgConfig> now = db.GetRvg(rvg);
      if (!now.ok()) return now.status();
      // Bind first (it refuses another RVG's uuid), then take the history.
      Status st = now->generation.empty() ? db.BindRvg(rvg, uuid, history.back().uuid)
                                          : Status::Ok();
      if (st.ok()) st = db.AdoptHistory(rvg, history);
      return st;
    });
  };
  hooks.split_brain = [this](const std::string& reason) {
    Status st = ctx_.db->Run(
        [&](StateDb& db) { return db.SetFlag(ctx_.config.name, "split_brain", reason, reason); });
    if (!st.ok()) spdlog::error("cannot flag the split brain: {}", st.message());
  };
  return hooks;
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
  j["rejected_connections"] = receiver_->rejected_connections();
  Status health = applier_->health();
  j["health"] = health.ok() ? "ok" : health.message();
  return j;
}

}  // namespace

std::unique_ptr<Daemon> MakeSecondaryDaemon(DaemonContext context) {
  return std::make_unique<SecondaryDaemon>(std::move(context));
}

}  // namespace rvg
