// SecondaryDaemon: the secondary role of rvgd — SRL, applier, undo area
// and the receiver that takes a primary's session. Internal to rvgd:
// secondary_daemon.cpp starts, stops and reports it; secondary_failover.cpp
// makes it a primary (takeover, migrate).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cli/common/secondary_store.h"
#include "cli/rvgd/daemon.h"
#include "core/secondary_applier.h"
#include "core/undo_area.h"
#include "net/rlink_receiver.h"

namespace rvg {

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
  std::string name() const override { return ctx_.config.name; }
  bool serving() const override { return !shut_down_; }
  Result<RoleChange> Takeover(bool force, std::string* note) override;
  Result<RoleChange> TakeHandover(std::string* mount) override;
  Status Drain(const std::string&, double) override {
    return Status::Error("drain runs on the primary; this host is a secondary of RVG " +
                         ctx_.config.name);
  }

 private:
  Status Shutdown();
  Result<std::vector<std::string>> AcceptedPrimaryKeys();
  // The ranges to report in a fast failback, when flag `failback` is set.
  // `*from` gets the first seq they cover (flag `failback`'s value).
  Result<std::optional<std::vector<VolumeExtent>>> FailbackRanges(uint64_t* from);
  // HistoryHooks::roll_back: the ranges of SRL records fork..held, made
  // this host's failback bitmap (flag `failback`).
  Result<std::vector<VolumeExtent>> RollBackRanges(uint64_t fork, uint64_t held,
                                                   const std::string& by, bool covered);
  HistoryHooks Hooks();
  // Every host this one would replicate to as primary has a key pinned.
  Result<std::vector<RlinkConfig>> HostsReadyForPrimary();
  // The change that makes this host primary of generation `uuid` from
  // seq `start` (flag last_owner, with `why`).
  Result<RoleChange> PrimaryRoleChange(const std::string& uuid, uint64_t start,
                                       const std::string& why);
  // Receiver thread: the primary handed over (migrate).
  Result<std::string> AcceptHandover(const HandoverMsg& m, const std::string& key,
                                     const std::string& host);
  void Followed(const std::string& key, const std::string& host);
  bool Follows(const std::string& key, const std::string& host);
  // The name of the host that proved `key` (its RLINK here), or that
  // announced `host` on an insecure link.
  Result<std::string> HostName(StateDb& db, const std::string& key, const std::string& host);

  DaemonContext ctx_;
  SecondaryStore store_;  // applied_seq and the inconsistent flag in state.db
  // The resync undo area (HOME/RVG.undo), recovered by the applier's
  // Start(). takeover --force stops the applier and then calls
  // undo_.RollBack() when the images are inconsistent and an area exists.
  UndoArea undo_;
  std::unique_ptr<VolumeSet> volumes_;
  std::unique_ptr<Srl> srl_;
  std::unique_ptr<SecondaryApplier> applier_;
  std::unique_ptr<RlinkReceiver> receiver_;
  bool shut_down_ = false;  // by a takeover: for good
  // An accepted HANDOVER, for TakeHandover() on the main thread.
  struct Handover {
    std::string generation;  // the new one's uuid
    uint64_t seq = 0;        // the old primary's last
    std::string mount;
    std::string from;        // the old primary's name here
  };
  std::mutex handover_mu_;
  std::optional<Handover> handover_;
};

}  // namespace rvg
