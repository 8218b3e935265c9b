// A secondary becomes the primary (doc/failover.md): `takeover` when its
// primary is gone, and the secondary's side of `migrate`.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <sys/stat.h>

#include "cli/rvgd/secondary_daemon.h"
#include "core/uuid.h"

namespace rvg {

// doc/failover.md, "takeover". Everything that can refuse is checked
// before this role stops, so a refusal leaves the secondary serving.
Result<RoleChange> SecondaryDaemon::Takeover(bool force, std::string* note) {
  const RvgConfig& cfg = ctx_.config;
  const auto silent = std::chrono::steady_clock::now() - receiver_->last_heard();
  const std::string primary = receiver_->peer();
  if (!primary.empty() && silent < std::chrono::seconds(5)) {
    return Status::Error(
        "the primary is connected (its session was heard from " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(silent).count()) +
        " ms ago): takeover is for a primary that is gone; switch roles with migrate, or stop "
        "the primary first");
  }
  if (receiver_->generation().empty() || receiver_->uuid().empty()) {
    return Status::Error("RVG " + cfg.name + " has never been bound to a primary (no generation "
                         "history): there is nothing to take over; create it as a primary "
                         "instead");
  }
  auto flags = ctx_.db->Run([&](StateDb& db) { return db.Flags(cfg.name); });
  if (!flags.ok()) return flags.status();
  const bool inconsistent = FlaggedInconsistent(*flags);
  if (inconsistent && !force) {
    return Status::Error(
        "RVG " + cfg.name + " is inconsistent here (a resync was cut off): its images are no "
        "usable copy. takeover --force restores the contents from before the resync when the "
        "undo area has them (rvgadm status shows it), else takes the images as they are");
  }
  Result<std::vector<RlinkConfig>> hosts = HostsReadyForPrimary();
  if (!hosts.ok()) return hosts.status();
  std::string source;  // flag "primary": see Followed()
  for (const FlagEntry& f : *flags) {
    if (f.name == "primary") source = f.value;
  }
  Status st = Shutdown();
  shut_down_ = true;
  // A failback end the applier never took must not fire at the rollback.
  store_.DisarmFailbackEnd();
  if (!st.ok()) return st.Annotate("stopping the secondary role");
  if (inconsistent) {
    // The applier's Start() recovered the area and it has stopped: the
    // rollback may run (undo_area.h).
    Result<UndoSummary> undone =
        undo_.RollBack(volumes_.get(), [this] { return store_.SaveConsistency(true); });
    if (undone.ok()) {
      *note = "the unfinished resync was rolled back: " + std::to_string(undone->regions) +
              " regions restored, the images are the consistent copy at seq " +
              std::to_string(undone->base_seq);
      spdlog::warn("takeover --force: {}", *note);
    } else if (undone.status().code() == ENOENT) {
      *note = "the images are taken over INCONSISTENT (no undo area to restore): check the "
              "filesystems on them (fsck) before use";
      spdlog::error("takeover --force: {}", *note);
    } else {
      return undone.status().Annotate("rolling back the unfinished resync");
    }
  }
  Result<uint64_t> persisted = store_.LoadAppliedSeq();
  if (!persisted.ok()) return persisted.status();
  // The SRL is the truth about the seqs this host holds (a persisted
  // applied seq may lag it when a checkpoint's commit was put off): the
  // new generation must start past both, or it would reuse seqs.
  const uint64_t start = std::max(*persisted + 1, srl_->next_seq());
  if (start != *persisted + 1) {
    spdlog::warn("takeover: the SRL goes on at seq {} while the applied seq persisted is {}; the "
                 "new generation starts at {}", srl_->next_seq(), *persisted, start);
  }
  const std::string why = "takeover at seq " + std::to_string(start);
  Result<RoleChange> made = PrimaryRoleChange(NewUuid(), start, why);
  if (!made.ok()) return made.status();
  RoleChange change = std::move(*made);
  // The old primary's RLINK here tracks every write from now on in its
  // DCM — the failback bitmap — so that a fast failback resyncs only them.
  for (const RlinkConfig& r : *hosts) {
    if (r.name == source) change.rlink_states.push_back({r.name, "dcm"});
  }
  if (!source.empty()) change.set_flags.push_back({"source", source, 0, why});
  if (inconsistent && note->find("rolled back") != std::string::npos) {
    change.clear_flags.push_back("inconsistent");
  }
  spdlog::info("takeover: generation {} begins at seq {} (parent {}); old primary {}",
               change.generation->uuid, change.generation->start_seq, change.generation->parent,
               source.empty() ? "unknown" : source);
  return change;
}

Result<std::vector<RlinkConfig>> SecondaryDaemon::HostsReadyForPrimary() {
  const RvgConfig& cfg = ctx_.config;
  auto hosts = ctx_.db->Run([&](StateDb& db) { return db.ListRlinks(cfg.name); });
  if (!hosts.ok()) return hosts.status();
  for (const RlinkConfig& r : *hosts) {
    if (r.peer_key.empty() && !r.insecure) {
      return Status::Error("host " + r.name + " has no key pinned, so the primary role could not "
                           "replicate to it: rvgadm trust " + cfg.name + " " + r.name +
                           " KEY (its rvgadm pubkey), or delsec it");
    }
  }
  return hosts;
}

Result<RoleChange> SecondaryDaemon::PrimaryRoleChange(const std::string& uuid, uint64_t start,
                                                      const std::string& why) {
  const RvgConfig& cfg = ctx_.config;
  Result<GenerationHistory> history =
      ctx_.db->Run([&](StateDb& db) { return db.Generations(cfg.name); });
  if (!history.ok()) return history.status();
  RoleChange change;
  change.role = "primary";
  change.generation =
      NextGeneration(*history, uuid, start, static_cast<int64_t>(std::time(nullptr)));
  change.clear_flags.push_back("primary");
  change.clear_flags.push_back("failback");  // this host's line goes on instead
  change.set_flags.push_back({"last_owner", cfg.host.empty() ? "this host" : cfg.host, 0, why});
  return change;
}

// migrate, on the receiver thread: the receiver found this host an exact,
// consistent copy up to m.seq. What could still make the primary role
// fail to start is checked here, before the answer, so that a refusal
// leaves both hosts as they were.
Result<std::string> SecondaryDaemon::AcceptHandover(const HandoverMsg& m, const std::string& key,
                                                    const std::string& host) {
  const RvgConfig& cfg = ctx_.config;
  const std::string mount = m.mount.empty() ? cfg.mountpoint : m.mount;
  if (mount.empty()) {
    return Status::Error("RVG " + cfg.name + " has no mountpoint recorded on " +
                         (cfg.host.empty() ? "the secondary" : cfg.host) +
                         ": give migrate --mount DIR");
  }
  struct stat st_dir;
  if (::stat(mount.c_str(), &st_dir) != 0 || !S_ISDIR(st_dir.st_mode)) {
    return Status::Error("mountpoint " + mount + " is not a directory on " +
                         (cfg.host.empty() ? "the secondary" : cfg.host));
  }
  Result<std::vector<RlinkConfig>> hosts = HostsReadyForPrimary();
  if (!hosts.ok()) return hosts.status();
  Result<std::string> from = ctx_.db->Run([&](StateDb& db) { return HostName(db, key, host); });
  if (!from.ok()) return from.status();
  std::lock_guard<std::mutex> lock(handover_mu_);
  if (handover_) return Status::Error("a handover is under way already");
  handover_ = Handover{NewUuid(), m.seq, mount, *from};
  if (ctx_.handover_wanted) ctx_.handover_wanted();
  return handover_->generation;
}

Result<RoleChange> SecondaryDaemon::TakeHandover(std::string* mount) {
  std::optional<Handover> h;
  {
    std::lock_guard<std::mutex> lock(handover_mu_);
    h = handover_;
  }
  if (!h) return Daemon::TakeHandover(mount);
  // The receiver has answered: from here this host is committed to the
  // primary role, and a failure leaves rvgd to exit (state.db says what
  // it is).
  Status st = Shutdown();
  shut_down_ = true;
  if (!st.ok()) return st.Annotate("stopping the secondary role for the migrate");
  Result<uint64_t> persisted = store_.LoadAppliedSeq();
  if (!persisted.ok()) return persisted.status();
  if (srl_->next_seq() != h->seq + 1 || *persisted > h->seq) {
    return Status::Error("migrate: this host holds seqs up to " +
                         std::to_string(srl_->next_seq() - 1) + " (persisted " +
                         std::to_string(*persisted) + ") but accepted the handover at seq " +
                         std::to_string(h->seq) + "; it stays a secondary: check both hosts, "
                         "then rvgadm takeover on the one to be primary");
  }
  const uint64_t start = h->seq + 1;
  Result<RoleChange> change = PrimaryRoleChange(
      h->generation, start, "migrate from " + h->from + " at seq " + std::to_string(start));
  if (!change.ok()) return change.status();
  // The old primary holds exactly what this host holds: it is streamed to
  // from start on, whatever this host last knew of that RLINK.
  change->rlink_states.push_back({h->from, "disconnected"});
  *mount = h->mount;
  spdlog::info("migrate: generation {} begins at seq {}; old primary {} is a secondary",
               h->generation, start, h->from);
  return change;
}

}  // namespace rvg
