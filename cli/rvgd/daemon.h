// Daemon: what rvgd does for one RVG in its current role. rvgd_main.cpp
// owns the process concerns (arguments, logging, pid file, signals, control
// socket) and drives a Daemon through this interface.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "cli/common/home.h"
#include "cli/common/rvg_files.h"  // OpenLockedVolumes, OpenLockedSrl: for the daemon's lifetime
#include "core/srl.h"
#include "core/status.h"
#include "core/volume_set.h"
#include "state/state_db.h"

namespace rvg {

// The state database shared by rvgd's threads (control handler,
// checkpointer, receiver), one caller at a time.
class SharedStateDb {
 public:
  explicit SharedStateDb(std::unique_ptr<StateDb> db) : db_(std::move(db)) {}
  template <typename Fn>
  auto Run(Fn fn) {
    std::lock_guard<std::mutex> lock(mu_);
    return fn(*db_);
  }

 private:
  std::mutex mu_;
  std::unique_ptr<StateDb> db_;
};

struct DaemonContext {
  Home home;
  RvgConfig config;
  std::string mount;  // primary: absolute mountpoint
  SharedStateDb* db = nullptr;
  zmq::context_t* zmq = nullptr;
  // Called from any thread when the role daemon wants rvgd's main thread
  // to change its role (a primary that found itself replaced steps down:
  // Daemon::StepDown). Must not block.
  std::function<void()> step_down_wanted;
  // Called from the receiver thread when a secondary accepted its
  // primary's HANDOVER (migrate) and is to become primary
  // (Daemon::TakeHandover on the main thread). Must not block.
  std::function<void()> handover_wanted;
  // Waits for the control requests still at work on the daemon (drains, on
  // threads of their own) to end and be answered: before a role change
  // destroys the daemon they use. Its Stop() has made them end.
  std::function<void()> finish_requests;
};

// What a primary's migrate ended in (Daemon::Migrate): this host is to
// become a secondary by `change`.
struct MigrateOutcome {
  RoleChange change;
  std::string generation;  // the new primary's, from start_seq
  uint64_t start_seq = 0;
  // Non-empty when the HANDOVER went out but no answer came: why. The
  // secondary may have taken over or not; this host steps down anyway,
  // since going on as primary could split the brain.
  std::string in_doubt;
};

class Daemon {
 public:
  virtual ~Daemon() = default;
  // Returns once serving (mount live, or listening).
  virtual Status Start() = 0;
  // Clean stop; on failure (e.g. mount busy) the daemon keeps serving.
  virtual Status Stop() = 0;
  virtual nlohmann::json StatusJson() = 0;
  // Waits until `rlink` ("" = every RLINK) has data-acked everything written
  // before the call, or fails after `timeout_s` (0 to a week, checked by the
  // caller) saying who is behind. Runs on a thread of its own, alongside
  // StatusJson() and Stop(); a stop that goes ahead ends it with an error.
  virtual Status Drain(const std::string& rlink, double timeout_s) = 0;
  // An administrator's request about one RLINK: "pause", "resume",
  // "stoprep", "startrep_full", "resync" (what its bitmap holds),
  // "resync_full", or "reload" (its attributes changed in state.db).
  // Primaries only. The string is a note for the administrator when the
  // request was fine but there was nothing to do ("" otherwise): rvgadm
  // prints it and exits 0.
  virtual Result<std::string> ControlRlink(const std::string& rlink,
                                           const std::string& /*action*/) {
    return Status::Error("this host is not the primary; RLINK " + rlink +
                         " is controlled on the primary");
  }
  // takeover (doc/failover.md), secondaries only: refuses — still serving —
  // while the primary is alive, or when a resync left the images
  // inconsistent and `force` is not given. Otherwise stops this role for
  // good (with `force` on inconsistent images, restores the undo area
  // first) and returns the role change for rvgd to apply before it starts
  // the primary role. `note` gets what the administrator should know.
  virtual Result<RoleChange> Takeover(bool /*force*/, std::string* /*note*/) {
    return Status::Error("RVG " + name() + " is the primary on this host already");
  }
  // Fast failback (doc/failover.md), primaries only, on rvgd's main thread
  // after step_down_wanted: a primary that another host replaced stops —
  // still serving, fenced, when its mount is busy — and returns the change
  // that makes it a secondary holding the ranges it wrote past the fork.
  virtual Result<RoleChange> StepDown(std::string* /*note*/) {
    return Status::Error("RVG " + name() + " is a secondary here already");
  }
  // force-online (doc/failover.md), primaries only: a primary held back as
  // data_corrupt serves writes under a new generation. The string is a
  // note for the administrator.
  virtual Result<std::string> ForceOnline() {
    return Status::Error("RVG " + name() + " is a secondary here; force-online applies to a "
                         "primary held back as data_corrupt");
  }
  // resolve --discard-local (doc/failover.md), primaries only: a primary
  // in a split brain fences its writes and prepares to step down to be the
  // secondary of the peer it diverged from, throwing away its writes since
  // the split; rvgd's main thread then calls StepDown(). The string is a
  // note for the administrator.
  virtual Result<std::string> PrepareResolve() {
    return Status::Error("RVG " + name() + " is a secondary here; resolve --discard-local "
                         "applies to a primary in a split brain");
  }
  // migrate (doc/failover.md), primaries only: unmount (a busy volume
  // refuses and changes nothing), drain `rlink`, hand over to it
  // (RlinkSender::HandOver) and return the change that makes this host its
  // secondary. An error after the unmount leaves this role stopped
  // (serving() false) and the primary role is to be started again.
  virtual Result<MigrateOutcome> Migrate(const std::string& /*rlink*/,
                                         const std::string& /*mount*/, double /*timeout_s*/) {
    return Status::Error("RVG " + name() + " is a secondary here; migrate runs on the primary");
  }
  // migrate, secondaries only, on rvgd's main thread after
  // handover_wanted: stops this role for good and returns the change that
  // makes this host primary of the generation it answered the HANDOVER
  // with, and in *mount where to mount.
  virtual Result<RoleChange> TakeHandover(std::string* /*mount*/) {
    return Status::Error("no primary handed RVG " + name() + " over to this host");
  }
  // The step-down that PrepareResolve() prepared failed and this role
  // still serves (a busy volume): writes are taken again.
  virtual void AbandonResolve() {}
  virtual std::string name() const = 0;
  // False once a failed role change has stopped this role for good.
  virtual bool serving() const { return true; }
};

std::unique_ptr<Daemon> MakePrimaryDaemon(DaemonContext context);
std::unique_ptr<Daemon> MakeSecondaryDaemon(DaemonContext context);

}  // namespace rvg
