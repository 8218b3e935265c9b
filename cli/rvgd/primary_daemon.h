// PrimaryDaemon: the primary role of rvgd — SRL, write pipeline, one
// sender per RLINK, the listener that tells an old primary it was
// replaced, the data_corrupt gate, and the FUSE mount. Internal to rvgd:
// primary_daemon.cpp starts and stops it and handles failover events,
// primary_control.cpp answers status and the administrator's requests.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cli/rvgd/daemon.h"
#include "cli/rvgd/data_corrupt.h"
#include "cli/rvgd/session_loss_rotation.h"
#include "cli/rvgd/step_down.h"
#include "core/dcm_tracker.h"
#include "core/generation_line.h"
#include "core/primary_rvg.h"
#include "fuse/rvg_fs.h"
#include "net/host_keys.h"
#include "net/primary_listener.h"
#include "net/rlink_sender.h"

namespace rvg {

// An RLINK's replication attributes as the state machine takes them.
Result<RlinkPolicy> PolicyOf(const RlinkConfig& r);

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
  Result<std::string> ForceOnline() override;
  Result<std::string> PrepareResolve() override;
  void AbandonResolve() override;
  Result<MigrateOutcome> Migrate(const std::string& rlink, const std::string& mount,
                                 double timeout_s) override;

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
  // Unmounts the volumes, ending the engine's intake (BeginClose); a busy
  // volume refuses and leaves them mounted. With abort_waits (stop), writes
  // waiting for room in a full SRL are failed (EIO) so that their files
  // close, and the unmount is tried again for a few seconds; without it
  // (migrate, which an administrator may simply retry), it is tried once.
  Status UnmountVolumes(bool abort_waits = true);
  // migrate: the durable mark that this host handed its role to `rlink`
  // (flag replaced_by, set before the HANDOVER goes out), and its removal
  // when the secondary refused or nothing was sent.
  Status SetHandingOver(const std::string& rlink);
  Status ClearHandingOver();
  Status LoadKeysIfNeeded();
  Status StartListener();
  void RecordPeerGeneration(const std::string& rlink, const std::string& generation);
  void Replaced(const std::string& rlink, const HistoryComparison& c, const std::string& why);
  // A host that learned before a restart that it was replaced stays
  // fenced until it has stepped down (flag replaced_by).
  Status FenceIfReplaced();
  // Sender threads: `rlink`'s history and ours diverged (split brain).
  void SplitBrain(const std::string& rlink, const HistoryComparison& c,
                  const GenerationHistory& peer);
  // Sender threads: `rlink` welcomed a session: a split brain with it is over.
  void SplitBrainOver(const std::string& rlink);
  // Sender threads: the old primary `rlink` is a copy again (flag source).
  void FailbackDone(const std::string& rlink);
  // Whether the resync of RLINK `i` (named `rlink`) compares region hashes,
  // in its sender and as flag CompareResyncFlag(rlink) (state_db.h); primary_control.cpp.
  Status CompareResync(const std::string& rlink, size_t i, bool compare);
  // The flag alone (any thread: the senders call it when a resync ends).
  Status PersistCompareFlag(const std::string& rlink, bool compare);

  // Writes are refused until it is; primary_daemon.cpp.
  Status OpenGate();

  DaemonContext ctx_;
  CurveKeyPair keys_;  // empty when every RLINK is insecure
  std::mutex configs_mu_;  // rlink_configs_: the control thread reloads, status reads
  std::vector<RlinkConfig> rlink_configs_;
  std::shared_ptr<RlinkSet> rlinks_;
  std::unique_ptr<DcmTracker> dcm_;
  // The engine asks rotation_ while it writes: destroyed after it.
  std::shared_ptr<GenerationLine> line_;
  std::unique_ptr<SessionLossRotation> rotation_;
  std::unique_ptr<PrimaryRvg> engine_;
  std::unique_ptr<DataCorruptGate> gate_;
  std::vector<std::unique_ptr<RlinkSender>> senders_;
  std::unique_ptr<RvgFs> fs_;
  std::unique_ptr<PrimaryListener> listener_;  // when the RVG has a listen endpoint
  std::mutex step_down_mu_;
  std::optional<StepDownCause> step_down_;  // set by Replaced(), PrepareResolve()
  // The last split brain found (under step_down_mu_): with which RLINK,
  // and that peer's history, for resolve --discard-local.
  struct SplitBrainSeen {
    std::string rlink;
    GenerationHistory peer;
  };
  std::optional<SplitBrainSeen> split_brain_;
  // Set once the daemon stops for good: drains end instead of waiting for
  // senders that have stopped.
  std::atomic<bool> stopping_{false};
};

}  // namespace rvg
