// RlinkReceiver's half of doc/failover.md: which primary a secondary
// follows, decided from the two generation histories in a HELLO.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/failback_bitmap.h"
#include "core/text.h"
#include "net/rlink_receiver.h"

namespace rvg {

namespace {

std::string Short(const std::string& uuid) { return uuid.substr(0, 8); }

// DIRTY messages of one failback report (ZeroMQ's default send queue
// holds 1000 messages).
constexpr size_t kMaxDirtyMessages = 64;

}  // namespace

Status RlinkReceiver::DecideHistory(const HelloMsg& h, const std::string& peer_key,
                                   RejectMsg* refusal, uint64_t* fork) {
  *fork = 0;
  const uint64_t held = applier_->received_seq();
  GenerationHistory ours;
  bool failback;
  uint64_t failback_from;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ours = config_.history;
    failback = config_.failback.has_value();
    failback_from = config_.failback_from;
  }
  refusal->retry = false;
  refusal->last_seq = held;
  refusal->primary = false;
  const std::string who = "primary rlink " + Printable(h.rlink_name) +
                          (h.host.empty() ? "" : " (host " + Printable(h.host) + ")");
  bool adopt = false;
  if (ours.empty()) {
    // Unbound (or bound before histories existed): the administrator chose
    // this peer by its key or the RVG uuid; its history becomes ours.
    spdlog::info("sync direction: {} is followed from its generation {}: this secondary had "
                 "no generation history yet", who, Short(h.history.back().uuid));
    adopt = true;
  } else {
    HistoryComparison c = CompareHistories(ours, held, h.history, h.last_seq);
    refusal->history = ours;
    const std::string row = " (doc/failover.md row " + std::to_string(c.row) + ")";
    const bool behind = c.verdict == HistoryVerdict::kSame ||
                        c.verdict == HistoryVerdict::kLocalBehind;
    Status listed = Status::Ok();
    if (behind && !failback && c.rollback && c.fork_seq > 0 && applier_->consistent()) {
      // A plain secondary ahead of the new primary on the replaced line
      // (three hosts): it rolls back like a host that stepped down, from
      // the ranges its own SRL still lists.
      const bool covered = h.covered_from != 0 && h.covered_from <= c.fork_seq;
      listed = BecomeFailback(c.fork_seq, held, who, covered, &failback_from);
      failback = listed.ok();
    }
    // This host stepped down (replaced, or resolve --discard-local): the
    // primary rolls back what it wrote from the fork on, and its history
    // becomes ours at the end. The fork is the earlier of where the lines
    // part by the histories and where this host's own failback ranges
    // begin: after a resolve this host may hold writes of its own below
    // the peer's first new generation, which no rollback by the histories
    // alone would undo.
    const bool own_writes = failback_from > 0 && held >= failback_from;
    if (behind && failback && ((c.rollback && c.fork_seq > 0) || own_writes)) {
      *fork = c.rollback && c.fork_seq > 0
                  ? (own_writes ? std::min(c.fork_seq, failback_from) : c.fork_seq)
                  : failback_from;
      spdlog::warn("sync direction: {} is followed with a fast failback: {}; the regions this "
                   "host wrote from seq {} on are resynced from it{}",
                   who, c.reason, *fork, row);
      return Status::Ok();
    }
    const bool same_host_goes_on =
        !c.rollback && hooks_.follows && hooks_.follows(peer_key, h.host);
    if (behind && ours != h.history && !applier_->consistent() && !same_host_goes_on) {
      // Half of a resync from our line is on the images: they are no
      // prefix of the peer's line, nor of ours, until rolled back.
      refusal->reason = "this secondary is inconsistent (a resync in generation " +
                        Short(ours.back().uuid) + " was cut off) and cannot follow another "
                        "line: rvgadm stop, rvgadm rollback and rvgadm start it";
      spdlog::warn("sync direction: refusing {}: {}", who, refusal->reason);
      return Status::Error(refusal->reason);
    }
    switch (c.verdict) {
      case HistoryVerdict::kSame:
      case HistoryVerdict::kLocalBehind:
        if (c.rollback) {
          refusal->reason = "this secondary holds seqs " + std::to_string(c.fork_seq) + ".." +
                            std::to_string(held) + " of a line the primary's generation " +
                            Short(h.history.back().uuid) + " replaced, and " +
                            (listed.ok() ? std::string("is inconsistent") : listed.message()) +
                            ": it cannot tell which regions to roll back" +
                            (listed.code() == ENOENT ? " (waiting for previous source)" : "");
          // ENOENT: the primary waits for the previous source's report.
          // EAGAIN, soon over: a plain retry (no history, so no wait).
          refusal->retry = listed.code() == EAGAIN || listed.code() == ENOENT;
          if (listed.code() == EAGAIN) refusal->history.clear();
          spdlog::warn("sync direction: refusing {}: {}{}", who, c.reason, row);
          return Status::Error(refusal->reason);
        }
        adopt = ours != h.history;
        spdlog::info("sync direction: {} is followed: {}{}", who, c.reason, row);
        break;
      case HistoryVerdict::kLocalAhead:
        if (c.fork_seq == 0) {
          refusal->reason = "secondary holds seq " + std::to_string(held) +
                            " but the primary's newest is " + std::to_string(h.last_seq) +
                            ": histories diverged (needs resolve)";
        } else {
          refusal->reason = "this secondary follows generation " + Short(ours.back().uuid) +
                            ", newer than the peer's " + Short(h.history.back().uuid) +
                            ": the peer is not the primary any more";
        }
        spdlog::warn("sync direction: refusing {}: {}{}", who, c.reason, row);
        return Status::Error(refusal->reason);
      case HistoryVerdict::kDiverged:
        refusal->reason = "split brain: " + c.reason + "; resolve it with rvgadm resolve RVG "
                          "--discard-local on the host whose writes are to be thrown away";
        spdlog::error("sync direction: refusing {}: {}{}", who, c.reason, row);
        if (hooks_.split_brain) {
          hooks_.split_brain("with " + who + ": ours " + Short(ours.back().uuid) + ", theirs " +
                             Short(h.history.back().uuid) + " after " + Short(c.common));
        }
        return Status::Error(refusal->reason);
      case HistoryVerdict::kUnrelated:
        refusal->reason = "the primary's generation history has nothing in common with this "
                          "secondary's (another RVG, or one recreated): not following it";
        spdlog::error("sync direction: refusing {}: {}{}", who, c.reason, row);
        return Status::Error(refusal->reason);
    }
  }
  if (!adopt) return Status::Ok();
  Status st = hooks_.adopt(h.rvg_uuid, h.history, failback);
  if (!st.ok()) {
    refusal->reason = "secondary cannot record the primary's generation history: " + st.message();
    refusal->retry = true;
    return st;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (config_.rvg_uuid.empty()) {
    spdlog::info("bound to RVG {} uuid {}", h.rvg_name, h.rvg_uuid);
    config_.rvg_uuid = h.rvg_uuid;
  }
  config_.history = h.history;
  config_.failback.reset();
  return Status::Ok();
}

Status RlinkReceiver::BecomeFailback(uint64_t fork, uint64_t held, const std::string& who,
                                     bool covered, uint64_t* failback_from) {
  if (!hooks_.roll_back) return Status::Error("no way to list its writes", ENOENT);
  Result<std::vector<VolumeExtent>> ranges = hooks_.roll_back(fork, held, who, covered);
  if (!ranges.ok()) {
    spdlog::warn("sync direction: {} replaced seqs {}..{} held here: {}", who, fork, held,
                 ranges.status().message());
    return ranges.status();
  }
  std::lock_guard<std::mutex> lock(mu_);
  config_.failback = std::move(*ranges);
  config_.failback_from = fork;
  *failback_from = fork;
  return Status::Ok();
}

void RlinkReceiver::SendFailbackRanges(const PeerId& peer, uint64_t session_id,
                                       uint64_t fork) {
  std::vector<VolumeExtent> extents;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (config_.failback) extents = *config_.failback;
    if (fork < config_.failback_from) {
      // The ranges were recorded for a later fork: what this host wrote
      // from `fork` up to it is in none of them.
      spdlog::warn("fast failback: the peer's line forks at seq {}, before seq {} where this "
                   "host's failback ranges begin: every region is resynced",
                   fork, config_.failback_from);
      extents = WholeVolumes(config_.volumes);
    }
  }
  // A ROUTER socket drops what exceeds its send queue without a word, so
  // the report stays far below it: wider ranges, never a lost one.
  extents = Coarsened(std::move(extents), kMaxDirtyMessages * kMaxDirtyExtents);
  uint64_t bytes = 0;
  for (size_t i = 0; i < extents.size(); i += kMaxDirtyExtents) {
    DirtyMsg m;
    m.session_id = session_id;
    for (size_t j = i; j < extents.size() && j < i + kMaxDirtyExtents; ++j) {
      m.extents.push_back({extents[j].volume, extents[j].offset, extents[j].length});
      bytes += extents[j].length;
    }
    Reply(peer.connection, Encode(m));
  }
  spdlog::info("fast failback: reported {} ranges ({} bytes) this host wrote past the fork",
               extents.size(), bytes);
}

void RlinkReceiver::FailbackEnded(const GenerationHistory& history) {
  std::lock_guard<std::mutex> lock(mu_);
  config_.history = history;
  config_.failback.reset();
  spdlog::info("fast failback complete: this host follows generation {} now",
               Short(history.back().uuid));
}

}  // namespace rvg
