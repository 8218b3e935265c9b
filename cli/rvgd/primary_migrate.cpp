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
// the administrator learns which host to look at.
#include <spdlog/spdlog.h>

#include <chrono>

#include "cli/rvgd/primary_daemon.h"

namespace rvg {

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
  Status st = UnmountVolumes();
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
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  bool sent = false;
  Result<HandedMsg> handed = senders_[*index]->HandOver(
      last, mount, std::max(left, std::chrono::milliseconds(1000)), &sent);
  if (!handed.ok() && !sent) return stop(handed.status());
  if (handed.ok() && !handed->accepted) {
    return stop(Status::Error(rlink + " refused to take over: " + handed->reason));
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

}  // namespace rvg
