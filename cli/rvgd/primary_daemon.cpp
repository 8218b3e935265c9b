// The primary role: SRL, write pipeline, one sender per RLINK, FUSE mount.
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "cli/common/status_view.h"
#include "cli/rvgd/daemon.h"
#include "cli/rvgd/step_down.h"
#include "core/primary_rvg.h"
#include "fuse/rvg_fs.h"
#include "fuse/stale_mount.h"
#include "net/host_keys.h"
#include "net/primary_listener.h"
#include "net/rlink_sender.h"

namespace rvg {

namespace {

Result<RlinkPolicy> PolicyOf(const RlinkConfig& r) {
  return ParseRlinkPolicy(r.synchronous, r.sync_ack, r.ack_timeout, r.latencyprot,
                          r.latency_high_mark, r.latency_low_mark, r.srlprot, r.bandwidth_limit);
}

class PrimaryDaemon : public Daemon, public CheckpointListener, public BitmapStore {
 public:
  explicit PrimaryDaemon(DaemonContext context) : ctx_(std::move(context)) {}
  ~PrimaryDaemon() override { Shutdown(); }

  Status Start() override;
  Status Stop() override;
  nlohmann::json StatusJson() override;
  Status Drain(const std::string& rlink, double timeout_s) override;
  std::string name() const override { return ctx_.config.name; }
  bool serving() const override { return !stopping_; }
  Result<std::string> ControlRlink(const std::string& rlink, const std::string& action) override;
  Result<RoleChange> StepDown(std::string* note) override;

  Status PersistRlinkProgress(const std::vector<RlinkSnapshot>& rlinks) override;

  // BitmapStore: the DCMs live in state.db, one row per chunk.
  Status SaveBitmapChunks(const std::string& rlink,
                          const std::vector<BitmapChunk>& chunks) override {
    return ctx_.db->Run(
        [&](StateDb& db) { return db.SaveBitmapChunks(ctx_.config.name, rlink, chunks); });
  }
  Result<std::vector<BitmapChunk>> LoadBitmap(const std::string& rlink) override {
    return ctx_.db->Run([&](StateDb& db) { return db.LoadBitmap(ctx_.config.name, rlink); });
  }

 private:
  void Shutdown();
  Status LoadKeysIfNeeded();
  Status StartListener(const GenerationHistory& history);
  void RecordPeerGeneration(const std::string& rlink, const std::string& generation);
  void Replaced(const std::string& rlink, const HistoryComparison& c, const std::string& why);
  // A host that learned before a restart that it was replaced stays
  // fenced until it has stepped down (flag replaced_by).
  Status FenceIfReplaced();
  // Sender threads: the old primary `rlink` is a copy again (flag source).
  void FailbackDone(const std::string& rlink);

  DaemonContext ctx_;
  CurveKeyPair keys_;  // empty when every RLINK is insecure
  std::mutex configs_mu_;  // rlink_configs_: the control thread reloads, status reads
  std::vector<RlinkConfig> rlink_configs_;
  std::shared_ptr<RlinkSet> rlinks_;
  std::unique_ptr<DcmTracker> dcm_;
  std::unique_ptr<PrimaryRvg> engine_;
  std::vector<std::unique_ptr<RlinkSender>> senders_;
  std::unique_ptr<RvgFs> fs_;
  std::unique_ptr<PrimaryListener> listener_;  // when the RVG has a listen endpoint
  std::mutex step_down_mu_;
  std::optional<StepDownCause> step_down_;  // set by Replaced()
  // Set once the daemon stops for good: drains end instead of waiting for
  // senders that have stopped.
  std::atomic<bool> stopping_{false};
};

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

  PrimaryOptions options;
  options.strict = cfg.durability == "strict";
  options.dcm = dcm_.get();
  Result<std::unique_ptr<PrimaryRvg>> engine =
      PrimaryRvg::Open(std::move(*volumes), std::move(*srl), rlinks_, this, options);
  if (!engine.ok()) return engine.status();
  engine_ = std::move(*engine);
  spdlog::info("RVG {}: write pipeline ready at seq {}", cfg.name, engine_->last_seq());
  Status fenced = FenceIfReplaced();
  if (!fenced.ok()) return fenced;

  Result<GenerationHistory> history =
      ctx_.db->Run([&](StateDb& db) { return db.Generations(cfg.name); });
  if (!history.ok()) return history.status();
  if (history->empty() || history->back().uuid != cfg.generation) {
    return Status::Error("state.db: the generation history of RVG " + cfg.name +
                         " does not end in its current generation; repair or recreate it");
  }
  // Seqs are never reused across generations (doc/failover.md): the SRL
  // must reach the seq before the current generation's first.
  if (engine_->last_seq() + 1 < history->back().start_seq) {
    return Status::Error("the SRL of RVG " + cfg.name + " ends at seq " +
                         std::to_string(engine_->last_seq()) + " but generation " +
                         cfg.generation + " begins at seq " +
                         std::to_string(history->back().start_seq) +
                         ": the SRL lost records; restore it or recreate the RVG");
  }
  for (size_t i = 0; i < rlink_configs_.size(); ++i) {
    RlinkSenderConfig sc;
    sc.rvg_name = cfg.name;
    sc.rvg_uuid = cfg.uuid;
    sc.generation = cfg.generation;
    sc.history = *history;
    sc.host = cfg.host;
    sc.peer_accepted = [this, name = rlink_configs_[i].name](const std::string& generation) {
      RecordPeerGeneration(name, generation);
    };
    sc.replaced = [this, name = rlink_configs_[i].name](const HistoryComparison& c,
                                                        const std::string& why) {
      Replaced(name, c, why);
    };
    sc.failback_done = [this, name = rlink_configs_[i].name] { FailbackDone(name); };
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
    senders_.back()->Start();
  }

  Status st = StartListener(*history);
  if (!st.ok()) return st;
  st = PrepareMountpoint(ctx_.mount);
  if (!st.ok()) return st;
  Result<std::unique_ptr<RvgFs>> fs = RvgFs::Mount(engine_.get(), ctx_.mount, "rvg:" + cfg.name);
  if (!fs.ok()) return fs.status();
  fs_ = std::move(*fs);
  spdlog::info("RVG {}: volumes mounted at {}", cfg.name, ctx_.mount);
  return Status::Ok();
}

// A primary with a listen endpoint (it was a secondary, or is to be one)
// answers HELLOs there: an old primary coming back learns it was replaced
// (doc/failover.md).
Status PrimaryDaemon::StartListener(const GenerationHistory& history) {
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
  lc.history = [history] { return history; };
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
  if (!engine_->fenced()) {
    engine_->Fence(Status::Error("RVG " + ctx_.config.name + ": " + reason +
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
    step_down_ = StepDownCause{rlink, c.fork_seq};
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

Status PrimaryDaemon::FenceIfReplaced() {
  auto flags = ctx_.db->Run([&](StateDb& db) { return db.Flags(ctx_.config.name); });
  if (!flags.ok()) return flags.status();
  for (const FlagEntry& f : *flags) {
    if (f.name != "replaced_by") continue;
    engine_->Fence(Status::Error("RVG " + ctx_.config.name + ": host " + f.value + " replaced "
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
  if (fs_) {
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
    while (!st.ok() && engine_ && Clock::now() < give_up &&
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
  }
  Shutdown();
  Status health = engine_ ? engine_->health() : Status::Ok();
  if (!health.ok()) spdlog::error("stopped after a failure: {}", health.message());
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

nlohmann::json PrimaryDaemon::StatusJson() {
  RvgLive live;
  live.config = ctx_.config;
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
  } else if (action == "startrep_full" || action == "startrep_checksum") {
    st = engine_->StartFullSync(*i);
    // Only a resync that was started compares: a refused startrep must not
    // leave a later, unrelated resync comparing every region.
    if (st.ok() && action == "startrep_checksum") senders_[*i]->CompareNextResync();
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

}  // namespace

std::unique_ptr<Daemon> MakePrimaryDaemon(DaemonContext context) {
  return std::make_unique<PrimaryDaemon>(std::move(context));
}

}  // namespace rvg
