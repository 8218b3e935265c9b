// The primary role's life: start, failover events, stop (primary_daemon.h).
#include "cli/rvgd/primary_daemon.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>
#include <thread>

#include "fuse/stale_mount.h"

namespace rvg {

Result<RlinkPolicy> PolicyOf(const RlinkConfig& r) {
  return ParseRlinkPolicy(r.synchronous, r.sync_ack, r.ack_timeout, r.latencyprot,
                          r.latency_high_mark, r.latency_low_mark, r.srlprot, r.bandwidth_limit);
}

Status PrimaryDaemon::Start() {
  const RvgConfig& cfg = ctx_.config;
  Result<std::unique_ptr<VolumeSet>> volumes = OpenLockedVolumes(cfg);
  if (!volumes.ok()) return volumes.status();
  Result<std::unique_ptr<Srl>> srl = OpenLockedSrl(cfg);
  if (!srl.ok()) return srl.status();
  auto rlinks = ctx_.db->Run([&](StateDb& db) { return db.ListRlinks(cfg.name); });
  if (!rlinks.ok()) return rlinks.status();
  rlink_configs_ = *rlinks;
  Status keyed = LoadKeysIfNeeded();
  if (!keyed.ok()) return keyed;
  std::vector<RlinkInit> inits;
  for (const RlinkConfig& r : rlink_configs_) {
    Result<RlinkPolicy> policy = PolicyOf(r);
    if (!policy.ok()) return policy.status().Annotate("RLINK " + r.name);
    // Stale and paused survive restarts (RlinkStateMachine).
    inits.push_back({r.name, *policy, RlinkStateFromName(r.state), r.sent_seq, r.net_acked_seq,
                     r.data_acked_seq});
  }
  rlinks_ = std::make_shared<RlinkSet>(inits);
  std::vector<std::string> names;
  for (const RlinkConfig& r : rlink_configs_) names.push_back(r.name);
  dcm_ = std::make_unique<DcmTracker>(names, cfg.volumes, cfg.region_size, this);
  Status loaded = dcm_->Load();
  if (!loaded.ok()) return loaded;

  Result<GenerationHistory> history =
      ctx_.db->Run([&](StateDb& db) { return db.Generations(cfg.name); });
  if (!history.ok()) return history.status();
  if (history->empty() || history->back().uuid != cfg.generation) {
    return Status::Error("state.db: the generation history of RVG " + cfg.name +
                         " does not end in its current generation; repair or recreate it");
  }
  line_ = std::make_shared<GenerationLine>(*history);
  std::vector<std::string> peer_generations;
  for (const RlinkConfig& r : rlink_configs_) peer_generations.push_back(r.peer_generation);
  rotation_ = std::make_unique<SessionLossRotation>(ctx_.db, cfg.name, line_, rlinks_,
                                                    peer_generations);

  PrimaryOptions options;
  options.strict = cfg.durability == "strict";
  options.dcm = dcm_.get();
  options.rotator = rotation_.get();
  Result<std::unique_ptr<PrimaryRvg>> engine =
      PrimaryRvg::Open(std::move(*volumes), std::move(*srl), rlinks_, this, options);
  if (!engine.ok()) return engine.status();
  engine_ = std::move(*engine);
  spdlog::info("RVG {}: write pipeline ready at seq {}", cfg.name, engine_->last_seq());
  Status fenced = FenceIfReplaced();
  if (!fenced.ok()) return fenced;

  // Seqs are never reused across generations (doc/failover.md): the SRL
  // must reach the seq before the current generation's first.
  if (engine_->last_seq() + 1 < history->back().start_seq) {
    return Status::Error("the SRL of RVG " + cfg.name + " ends at seq " +
                         std::to_string(engine_->last_seq()) + " but generation " +
                         cfg.generation + " begins at seq " +
                         std::to_string(history->back().start_seq) +
                         ": the SRL lost records; restore it or recreate the RVG");
  }
  // Before any sender can hear a secondary's answer.
  Status gated = OpenGate();
  if (!gated.ok()) return gated;
  // Three hosts (doc/failover.md): the RLINK to the previous source (flag
  // `source`) keeps its failback report for the others.
  std::string source;
  auto flags = ctx_.db->Run([&](StateDb& db) { return db.Flags(cfg.name); });
  if (!flags.ok()) return flags.status();
  std::set<std::string> flag_names;  // checksum_resync:RLINK among them
  for (const FlagEntry& f : *flags) {
    if (f.name == "source") source = f.value;
    flag_names.insert(f.name);
  }
  auto source_report = std::make_shared<SourceReport>();
  for (size_t i = 0; i < rlink_configs_.size(); ++i) {
    RlinkSenderConfig sc;
    sc.source_report = source_report;
    sc.previous_source = !source.empty() && rlink_configs_[i].name == source;
    sc.source_wait = rlink_configs_[i].source_wait;
    sc.rvg_name = cfg.name;
    sc.rvg_uuid = cfg.uuid;
    sc.line = line_;
    sc.host = cfg.host;
    sc.peer_accepted = [this, i, name = rlink_configs_[i].name](const std::string& generation) {
      RecordPeerGeneration(name, generation);
      rotation_->PeerAccepted(i, generation);
      SplitBrainOver(name);
      gate_->SecondaryAnswered(name);
    };
    sc.replaced = [this, name = rlink_configs_[i].name](const HistoryComparison& c,
                                                        const std::string& why) {
      Replaced(name, c, why);
    };
    sc.failback_done = [this, name = rlink_configs_[i].name] { FailbackDone(name); };
    sc.compare_done = [this, name = rlink_configs_[i].name] {
      // The sender already compares no more: only the flag is left.
      Status cleared = PersistCompareFlag(name, false);
      if (!cleared.ok()) {
        spdlog::error("rlink {}: clearing flag {}: {}", name, CompareResyncFlag(name),
                      cleared.message());
      }
    };
    sc.split_brain = [this, name = rlink_configs_[i].name](const HistoryComparison& c,
                                                           const GenerationHistory& peer) {
      SplitBrain(name, c, peer);
    };
    sc.rlink_name = rlink_configs_[i].name;
    sc.address = rlink_configs_[i].address;
    sc.volumes = cfg.volumes;
    sc.insecure = rlink_configs_[i].insecure;
    if (!sc.insecure) {
      sc.public_key = keys_.public_key;
      sc.secret_key = keys_.secret_key;
      sc.server_key = rlink_configs_[i].peer_key;
    }
    senders_.push_back(std::make_unique<RlinkSender>(sc, engine_.get(), rlinks_, i, dcm_.get(),
                                                     ctx_.zmq));
    // A checksum sync cut off by a stop or a crash goes on comparing.
    if (flag_names.count(CompareResyncFlag(rlink_configs_[i].name))) {
      senders_.back()->CompareResync(true);
    }
    senders_.back()->Start();
  }

  Status st = StartListener();
  if (!st.ok()) return st;
  st = PrepareMountpoint(ctx_.mount);
  if (!st.ok()) return st;
  Result<std::unique_ptr<RvgFs>> fs = RvgFs::Mount(engine_.get(), ctx_.mount, "rvg:" + cfg.name);
  if (!fs.ok()) return fs.status();
  fs_ = std::move(*fs);
  spdlog::info("RVG {}: volumes mounted at {}", cfg.name, ctx_.mount);
  return gate_->Serving();
}

// A primary with a listen endpoint (it was a secondary, or is to be one)
// answers HELLOs there: an old primary coming back learns it was replaced
// (doc/failover.md).
Status PrimaryDaemon::StartListener() {
  const RvgConfig& cfg = ctx_.config;
  if (cfg.listen.empty()) return Status::Ok();
  PrimaryListenerConfig lc;
  lc.rvg_name = cfg.name;
  lc.listen = cfg.listen;
  lc.host = cfg.host;
  lc.insecure = true;
  for (const RlinkConfig& r : rlink_configs_) {
    if (r.insecure) continue;
    lc.insecure = false;
    lc.peer_keys.push_back(r.peer_key);
  }
  if (!lc.insecure) {
    lc.secret_key = keys_.secret_key;
  } else if (rlink_configs_.empty()) {
    return Status::Ok();  // no host to answer
  }
  lc.history = [line = line_] { return line->history(); };
  lc.last_seq = [this] { return engine_->synced_seq(); };
  Result<std::unique_ptr<PrimaryListener>> listener = PrimaryListener::Start(lc, ctx_.zmq);
  if (!listener.ok()) return listener.status();
  listener_ = std::move(*listener);
  spdlog::info("RVG {}: answering HELLOs on {} as the primary", cfg.name, cfg.listen);
  return Status::Ok();
}

// Sender threads: a peer accepted our generation. Only a change is written.
void PrimaryDaemon::RecordPeerGeneration(const std::string& rlink, const std::string& generation) {
  {
    std::lock_guard<std::mutex> lock(configs_mu_);
    for (RlinkConfig& r : rlink_configs_) {
      if (r.name != rlink) continue;
      if (r.peer_generation == generation) return;
      r.peer_generation = generation;
    }
  }
  Status st = ctx_.db->Run(
      [&](StateDb& db) { return db.SaveRlinkPeerGeneration(ctx_.config.name, rlink, generation); });
  if (!st.ok()) spdlog::error("rlink {}: recording its generation: {}", rlink, st.message());
}

// Sender threads: another host is primary of a newer line. Writes here
// would only diverge from it, so they stop at once (EROFS), and rvgd's
// main thread is asked to make this host its secondary (StepDown).
void PrimaryDaemon::Replaced(const std::string& rlink, const HistoryComparison& c,
                             const std::string& why) {
  const std::string reason = "host " + rlink + " is primary of a newer generation (" + c.reason +
                             "): " + why;
  if (!engine_->fenced_for(PrimaryRvg::FenceCause::kReplaced)) {
    engine_->Fence(PrimaryRvg::FenceCause::kReplaced,
                   Status::Error("RVG " + ctx_.config.name + ": " + reason +
                                     "; this host takes no writes",
                                 EROFS));
    spdlog::error("{}; writes are refused from now on: this host steps down to be its "
                  "secondary", reason);
    Status st = ctx_.db->Run([&](StateDb& db) {
      return db.SetFlag(ctx_.config.name, "replaced_by", rlink, reason);
    });
    if (!st.ok()) spdlog::error("cannot flag it: {}", st.message());
  }
  {
    std::lock_guard<std::mutex> lock(step_down_mu_);
    step_down_ = StepDownCause{rlink, c.fork_seq, std::nullopt};
  }
  if (ctx_.step_down_wanted) ctx_.step_down_wanted();
}

void PrimaryDaemon::FailbackDone(const std::string& rlink) {
  Status st = ctx_.db->Run([&](StateDb& db) {
    Result<std::vector<FlagEntry>> flags = db.Flags(ctx_.config.name);
    if (!flags.ok()) return flags.status();
    for (const FlagEntry& f : *flags) {
      if (f.name == "source" && f.value == rlink) return db.ClearFlag(ctx_.config.name, "source");
    }
    return Status::Ok();
  });
  if (!st.ok()) spdlog::error("rlink {}: clearing flag source: {}", rlink, st.message());
  spdlog::info("rlink {}: fast failback complete: the old primary is a copy of this one", rlink);
}

Status PrimaryDaemon::OpenGate() {
  Result<RvgConfig> stored = ctx_.db->Run([&](StateDb& db) { return db.GetRvg(ctx_.config.name); });
  if (!stored.ok()) return stored.status();
  gate_ = std::make_unique<DataCorruptGate>(ctx_.db, ctx_.config.name, engine_.get(), line_);
  return gate_->Open(stored->primary_running, !rlink_configs_.empty());
}

Result<std::string> PrimaryDaemon::ForceOnline() {
  if (!gate_) return Status::Error("RVG " + ctx_.config.name + " is not serving");
  return gate_->ForceOnline();
}

Status PrimaryDaemon::FenceIfReplaced() {
  auto flags = ctx_.db->Run([&](StateDb& db) { return db.Flags(ctx_.config.name); });
  if (!flags.ok()) return flags.status();
  for (const FlagEntry& f : *flags) {
    if (f.name != "replaced_by") continue;
    engine_->Fence(PrimaryRvg::FenceCause::kReplaced,
                   Status::Error("RVG " + ctx_.config.name + ": host " + f.value + " replaced "
                                 "this primary (" + f.reason + "); this host takes no writes",
                                 EROFS));
    spdlog::error("RVG {}: host {} replaced this primary before the restart: writes are "
                  "refused until this host has stepped down", ctx_.config.name, f.value);
  }
  return Status::Ok();
}

Result<RoleChange> PrimaryDaemon::StepDown(std::string* note) {
  std::optional<StepDownCause> cause;
  {
    std::lock_guard<std::mutex> lock(step_down_mu_);
    cause = step_down_;
  }
  if (!cause) return Status::Error("no other host has replaced this primary");
  if (ctx_.config.listen.empty()) {
    return Status::Error("RVG " + ctx_.config.name + " has no listen endpoint, so this host "
                         "cannot become the secondary of " + cause->by + ": it stays fenced "
                         "(give it one with rvgadm set, or recreate it)");
  }
  // A busy mount refuses, and the host goes on fenced; the next refusal
  // from the new primary tries again.
  Status st = Stop();
  if (!st.ok()) return st.Annotate("stepping down");
  // Closed: every write this host took is in its SRL.
  RoleChange change = PlanStepDown(ctx_.config, *engine_, *cause, note);
  spdlog::warn("stepping down to secondary of {}: {}", cause->by, *note);
  return change;
}

// Every RLINK must be paired (or explicitly insecure) before anything
// starts: an unpaired one could neither authenticate its secondary nor be
// admitted by it.
Status PrimaryDaemon::LoadKeysIfNeeded() {
  bool secure = false;
  for (const RlinkConfig& r : rlink_configs_) {
    if (r.insecure) {
      spdlog::warn("RLINK {} is INSECURE (--insecure): replication traffic to {} is neither "
                   "authenticated nor encrypted", r.name, r.address);
    } else if (r.peer_key.empty()) {
      return Status::Error("secondary " + r.name + " of RVG " + ctx_.config.name +
                           " has no key pinned: run rvgadm trust " + ctx_.config.name + " " +
                           r.name + " KEY with " + r.name + "'s rvgadm pubkey");
    } else {
      // state.db is trusted only this far: a damaged key would make ZeroMQ
      // refuse the socket option deep in the sender thread.
      Status valid = CheckPublicKey(r.peer_key, "the key pinned for " + r.name);
      if (!valid.ok()) return valid.Annotate("state.db");
      secure = true;
    }
  }
  if (!secure) return Status::Ok();
  Result<CurveKeyPair> keys = LoadOrCreateHostKeys(ctx_.home.dir());
  if (!keys.ok()) return keys.status();
  keys_ = *keys;
  return Status::Ok();
}

// Stop refuses only while a volume is busy (the kernel mount cannot go);
// everything else — writers waiting for SRL space, a failed engine — ends,
// and a failure is reported in the log rather than keeping rvgd running.
// A writer waiting for SRL space holds the volume open and cannot even be
// killed (the kernel waits for the FUSE answer), so stop fails those
// writes with EIO — they were never acknowledged — and gives their owners
// a few seconds to let go.
Status PrimaryDaemon::Stop() {
  Status st = UnmountVolumes();
  if (!st.ok()) return st;
  Shutdown();
  if (gate_) gate_->CleanStop();
  Status health = engine_ ? engine_->health() : Status::Ok();
  if (!health.ok()) spdlog::error("stopped after a failure: {}", health.message());
  return Status::Ok();
}

Status PrimaryDaemon::UnmountVolumes(bool abort_waits) {
  if (!fs_) return Status::Ok();
  auto detached = [this] {
    if (engine_) engine_->BeginClose();
  };
  Status st = fs_->Unmount(detached);
  // A writer may be between two waits at the moment of the first try (a
  // checkpoint freed a little room and it is appending the next record),
  // so look for waiting writers for a while before calling the volume busy
  // for another reason (a loop device, an open file that is not writing).
  using Clock = std::chrono::steady_clock;
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  auto last_waiting = Clock::now();
  bool warned = false;
  while (!st.ok() && abort_waits && engine_ && Clock::now() < give_up &&
         Clock::now() - last_waiting < std::chrono::seconds(1)) {
    if (engine_->waiting_for_room()) {
      if (!warned) {
        spdlog::warn("stop: failing the writes that wait for space in the full SRL or for "
                     "the images to catch up");
        warned = true;
      }
      last_waiting = Clock::now();
      engine_->AbortSpaceWaits();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    st = fs_->Unmount(detached);
  }
  if (!st.ok() && warned) {
    st = st.Annotate("the writes that waited for room in the SRL or memory were failed, but");
  }
  if (!st.ok()) return st;
  fs_.reset();
  return Status::Ok();
}

void PrimaryDaemon::Shutdown() {
  stopping_ = true;
  listener_.reset();
  fs_.reset();  // lazy unmount if still mounted (fatal paths only)
  if (engine_) {
    Status st = engine_->Close();
    if (!st.ok()) spdlog::error("closing the write pipeline: {}", st.message());
  }
  for (auto& s : senders_) s->Stop();
  senders_.clear();
  if (engine_) {
    Status st = PersistRlinkProgress(rlinks_->Snapshot());
    if (!st.ok()) spdlog::error("persisting RLINK progress at stop: {}", st.message());
  }
}

Status PrimaryDaemon::PersistRlinkProgress(const std::vector<RlinkSnapshot>& rlinks) {
  return ctx_.db->Run([&](StateDb& db) {
    for (const RlinkSnapshot& s : rlinks) {
      Status st = db.SaveRlinkProgress(ctx_.config.name, s.name, RlinkStateName(s.persistent),
                                       s.sent_seq, s.net_acked_seq, s.data_acked_seq);
      if (!st.ok()) return st;
    }
    return Status::Ok();
  });
}

std::unique_ptr<Daemon> MakePrimaryDaemon(DaemonContext context) {
  return std::make_unique<PrimaryDaemon>(std::move(context));
}

}  // namespace rvg
