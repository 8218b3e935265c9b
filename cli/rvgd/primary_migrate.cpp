// migrate on the primary (doc/failover.md, "migrate"): a planned switch
// of roles with a connected, caught-up secondary. No data moves: the
// secondary holds every seq this host wrote when it takes over, and this
// host becomes its secondary holding the same.
//
// The order is what makes it safe. Nothing changes while a check can
// still refuse; the unmount is the first step (a busy volume refuses and
// the volumes stay mounted); once unmounted no write can begin, so the
// drain's target is final; a failure up to the HANDOVER leaves the roles
// as they were (rvgd starts the primary role again). Once the HANDOVER
// has gone out this host never takes writes again as primary: if no
// answer comes, the secondary may be primary already, and two primaries
// would split the brain — so this host becomes a secondary anyway, and
// the administrator learns which host to look at. That promise must
// outlive a power cut between the HANDOVER and the role change, so it is
// committed to state.db (flag replaced_by, which fences the primary role
// at every start) before the HANDOVER is sent, and taken back only when
// the secondary refused or nothing was sent.
#include <spdlog/spdlog.h>

#include <chrono>

#include "cli/rvgd/primary_daemon.h"

namespace rvg {

// The least time the secondary is given to answer the HANDOVER, whatever
// is left of --timeout after the drain (see below).
constexpr std::chrono::milliseconds kMinHandoverAnswerWait{10000};

Result<MigrateOutcome> PrimaryDaemon::Migrate(const std::string& rlink, const std::string& mount,
                                              double timeout_s) {
  const RvgConfig& cfg = ctx_.config;
  std::optional<size_t> index = rlinks_->Find(rlink);
  if (!index) return Status::Error("no secondary named " + rlink + " in RVG " + cfg.name, ENOENT);
  if (cfg.listen.empty()) {
    return Status::Error("RVG " + cfg.name + " has no listen endpoint here, so this host could "
                         "not be the secondary of " + rlink + " after the switch (give it one "
                         "with rvgadm set, or recreate it)");
  }
  if (engine_->fenced()) {
    return Status::Error("this primary takes no writes (data_corrupt, or replaced by another "
                         "host: rvgadm flags " + cfg.name + " says why); settle that first");
  }
  for (const RlinkSnapshot& s : rlinks_->Snapshot()) {
    if (s.name == rlink && s.state != RlinkState::kConnected) {
      return Status::Error("RLINK " + rlink + " is " + RlinkStateName(s.state) + ": migrate "
                           "needs a connected secondary that is a consistent copy; wait for "
                           "it (rvgadm status " + cfg.name + ")");
    }
  }
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(
                                           static_cast<int64_t>(timeout_s * 1000));
  // Once: a busy volume refuses the migrate. Unlike stop, migrate does not
  // fail the writes that wait for room in the SRL to free the mount.
  Status st = UnmountVolumes(/*abort_waits=*/false);
  if (!st.ok()) return st.Annotate("nothing changed");
  spdlog::info("migrate to {}: volumes unmounted; draining", rlink);

  // From here on the primary role is down; every return stops it cleanly.
  auto stop = [this](const Status& why) {
    Shutdown();
    gate_->CleanStop();
    return why;
  };
  const uint64_t last = engine_->last_seq();
  st = Drain(rlink, timeout_s);
  if (!st.ok()) return stop(st.Annotate(rlink + " did not catch up"));
  st = SetHandingOver(rlink);
  if (!st.ok()) return stop(st.Annotate("nothing was handed over"));
  // The answer needs the secondary's state.db commit and its checks: a
  // drain that used up the timeout must not turn a slow yes into doubt.
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  bool sent = false;
  Result<HandedMsg> handed = senders_[*index]->HandOver(
      last, mount, std::max(left, kMinHandoverAnswerWait), &sent);
  if ((!handed.ok() && !sent) || (handed.ok() && !handed->accepted)) {
    Status why = handed.ok() ? Status::Error(rlink + " refused to take over: " + handed->reason)
                             : handed.status();
    Status cleared = ClearHandingOver();
    if (!cleared.ok()) {
      // The flag would fence the primary role that is about to restart.
      return stop(why.Annotate("and the handover mark could not be taken back (" +
                               cleared.message() + "): this host stays fenced"));
    }
    return stop(why);
  }
  stop(Status::Ok());

  MigrateOutcome outcome;
  RoleChange& change = outcome.change;
  change.role = "secondary";
  for (const char* flag : {"last_owner", "replaced_by", "source", "data_corrupt", "split_brain"}) {
    change.clear_flags.push_back(flag);
  }
  if (handed.ok()) {
    outcome.generation = handed->generation;
    outcome.start_seq = handed->start_seq;
    spdlog::info("migrate: {} is primary of generation {} from seq {}; this host becomes its "
                 "secondary at seq {}", rlink, handed->generation, handed->start_seq, last);
  } else {
    outcome.in_doubt = handed.status().message();
    spdlog::error("migrate: the HANDOVER went to {} but {}; this host becomes a secondary "
                  "anyway (going on as primary could split the brain)", rlink,
                  outcome.in_doubt);
  }
  return outcome;
}

Status PrimaryDaemon::SetHandingOver(const std::string& rlink) {
  const std::string& name = ctx_.config.name;
  return ctx_.db->Run([&](StateDb& db) {
    return db.SetFlag(name, "replaced_by", rlink,
                      "migrate handed the primary role to " + rlink + "; if " + rlink +
                          " is not primary, stop rvgd here and run rvgadm takeover " + name + " there");
  });
}

Status PrimaryDaemon::ClearHandingOver() {
  return ctx_.db->Run([&](StateDb& db) { return db.ClearFlag(ctx_.config.name, "replaced_by"); });
}

}  // namespace rvg
