// The primary role in a split brain (doc/failover.md, "Split brain and
// resolve"): a sender found that a peer's history and ours diverged —
// both took writes as primary since a generation they share. Nothing is
// replicated either way (the sender refuses); the host flags split_brain
// and keeps the peer's history, so that `rvgadm resolve RVG
// --discard-local` here can make this host the peer's secondary: its
// writes since the split are rolled back by a fast failback from the peer.
#include <spdlog/spdlog.h>

#include "cli/rvgd/primary_daemon.h"

namespace rvg {

namespace {

// Index of the newest entry of `h` that `other` holds too; -1 if none.
int NewestShared(const GenerationHistory& h, const GenerationHistory& other) {
  for (int i = static_cast<int>(h.size()) - 1; i >= 0; --i) {
    for (const Generation& g : other) {
      if (g.uuid == h[i].uuid) return i;
    }
  }
  return -1;
}

}  // namespace

void PrimaryDaemon::SplitBrain(const std::string& rlink, const HistoryComparison& c,
                               const GenerationHistory& peer) {
  bool known = false;
  {
    std::lock_guard<std::mutex> lock(step_down_mu_);
    known = split_brain_ && split_brain_->rlink == rlink && split_brain_->peer == peer;
    split_brain_ = SplitBrainSeen{rlink, peer};
  }
  if (known) return;
  const std::string why = "with " + rlink + ": " + c.reason;
  spdlog::error("RVG {}: split brain {}; nothing is replicated to or from it until rvgadm "
                "resolve {} --discard-local runs on the host whose writes since the split are "
                "to be thrown away", ctx_.config.name, why, ctx_.config.name);
  Status st = ctx_.db->Run(
      [&](StateDb& db) { return db.SetFlag(ctx_.config.name, "split_brain", rlink, why); });
  if (!st.ok()) spdlog::error("cannot flag the split brain: {}", st.message());
}

void PrimaryDaemon::SplitBrainOver(const std::string& rlink) {
  {
    std::lock_guard<std::mutex> lock(step_down_mu_);
    if (split_brain_ && split_brain_->rlink == rlink) split_brain_.reset();
  }
  // The flag too, also when it was set before rvgd restarted.
  bool cleared = false;
  Status st = ctx_.db->Run([&](StateDb& db) {
    Result<std::vector<FlagEntry>> flags = db.Flags(ctx_.config.name);
    if (!flags.ok()) return flags.status();
    for (const FlagEntry& f : *flags) {
      if (f.name == "split_brain" && f.value == rlink) {
        cleared = true;
        return db.ClearFlag(ctx_.config.name, "split_brain");
      }
    }
    return Status::Ok();
  });
  if (!st.ok()) spdlog::error("clearing flag split_brain: {}", st.message());
  if (cleared) {
    spdlog::warn("RVG {}: the split brain with {} is over: it follows this host's line",
                 ctx_.config.name, rlink);
  }
}

Result<std::string> PrimaryDaemon::PrepareResolve() {
  const std::string& rvg = ctx_.config.name;
  if (ctx_.config.listen.empty()) {
    return Status::Error("RVG " + rvg + " has no listen endpoint, so this host cannot become a "
                         "secondary; give it one (rvgadm set) and resolve again");
  }
  std::lock_guard<std::mutex> lock(step_down_mu_);
  if (!split_brain_) {
    return Status::Error("RVG " + rvg + ": no secondary has reported a split brain since rvgd "
                         "started (if flags shows split_brain, wait a few seconds for the peer "
                         "to answer again and retry)");
  }
  const GenerationHistory ours = line_->history();
  const GenerationHistory& peer = split_brain_->peer;
  const int li = NewestShared(ours, peer);
  const int ri = NewestShared(peer, ours);
  if (li < 0 || ri < 0) {
    return Status::Error("RVG " + rvg + ": the histories of this host and " +
                         split_brain_->rlink + " share no generation; nothing to resolve from");
  }
  // The first seq at which the two lines may differ: this host rolls back
  // everything it holds from there on.
  uint64_t fork = 0;
  for (const GenerationHistory* h : {&ours, &peer}) {
    const int i = h == &ours ? li : ri;
    if (i + 1 < static_cast<int>(h->size())) {
      const uint64_t start = (*h)[i + 1].start_seq;
      fork = fork == 0 ? start : std::min(fork, start);
    }
  }
  if (fork == 0) fork = engine_->last_seq() + 1;
  StepDownCause cause;
  cause.by = split_brain_->rlink;
  cause.fork_seq = fork;
  cause.history = GenerationHistory(ours.begin(), ours.begin() + li + 1);
  step_down_ = cause;
  const std::string why = "resolve --discard-local: this host's writes from seq " +
                          std::to_string(fork) + " on are thrown away for " + cause.by + "'s";
  // A fence of its own: a resolve that cannot go ahead (a busy volume)
  // lifts it, and a replacement learnt meanwhile keeps its own.
  engine_->Fence(PrimaryRvg::FenceCause::kResolving,
                 Status::Error("RVG " + rvg + ": " + why + "; this host takes no writes", EROFS));
  spdlog::warn("RVG {}: {}", rvg, why);
  return "RVG " + rvg + ": this host becomes the secondary of " + cause.by +
         "; what either side wrote since the split (from seq " + std::to_string(fork) +
         ") is resynced from it (status shows the fast failback)";
}

void PrimaryDaemon::AbandonResolve() {
  {
    std::lock_guard<std::mutex> lock(step_down_mu_);
    // The resolve's own cause (it carries the history to keep); a host
    // replaced meanwhile goes on stepping down for that.
    if (step_down_ && step_down_->history) step_down_.reset();
  }
  engine_->Unfence(PrimaryRvg::FenceCause::kResolving);
  spdlog::warn("RVG {}: resolve did not go ahead; this host takes writes again, still in split "
               "brain", ctx_.config.name);
}

}  // namespace rvg
