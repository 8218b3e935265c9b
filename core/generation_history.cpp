#include "core/generation_history.h"

#include <set>

namespace rvg {

namespace {

std::string Short(const std::string& uuid) { return uuid.substr(0, 8); }

// Index of the newest entry of `h` whose uuid `other` also holds, or -1.
int NewestCommon(const GenerationHistory& h, const GenerationHistory& other) {
  std::set<std::string> theirs;
  for (const Generation& g : other) theirs.insert(g.uuid);
  for (int i = static_cast<int>(h.size()) - 1; i >= 0; --i) {
    if (theirs.count(h[i].uuid)) return i;
  }
  return -1;
}

// One side behind a line that began at `fork` (rows 5, 6 and their
// mirrors): clean when it holds nothing from there on.
HistoryComparison Behind(HistoryVerdict verdict, int clean_row, int rollback_row,
                         uint64_t behind_last, uint64_t fork, const std::string& common,
                         const std::string& who) {
  HistoryComparison c;
  c.verdict = verdict;
  c.common = common;
  c.fork_seq = fork;
  c.rollback = behind_last >= fork;
  c.row = c.rollback ? rollback_row : clean_row;
  c.reason = who + " is behind: the other line went on from generation " + Short(common) +
             " at seq " + std::to_string(fork);
  if (c.rollback) {
    c.reason += ", and " + who + " holds seqs " + std::to_string(fork) + ".." +
                std::to_string(behind_last) + " of the replaced line, to be rolled back";
  } else {
    c.reason += "; " + who + " holds up to seq " + std::to_string(behind_last) +
                " and follows without a rollback";
  }
  return c;
}

}  // namespace

Status CheckHistory(const GenerationHistory& history) {
  if (history.empty()) return Status::Error("generation history is empty", EINVAL);
  if (history.size() > kMaxHistoryEntries) {
    return Status::Error("generation history has " + std::to_string(history.size()) +
                             " entries (at most " + std::to_string(kMaxHistoryEntries) + ")",
                         EINVAL);
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < history.size(); ++i) {
    const Generation& g = history[i];
    const std::string at = "generation history entry " + std::to_string(i + 1);
    if (g.uuid.empty() || g.uuid.size() > 64) {
      return Status::Error(at + " has no uuid or one over 64 bytes", EINVAL);
    }
    if (!seen.insert(g.uuid).second) return Status::Error(at + " repeats a uuid", EINVAL);
    if (g.start_seq == 0) return Status::Error(at + " starts at seq 0", EINVAL);
    if (i > 0 && g.parent != history[i - 1].uuid) {
      return Status::Error(at + " does not follow the entry before it", EINVAL);
    }
    if (i > 0 && g.start_seq < history[i - 1].start_seq) {
      return Status::Error(at + " starts before the entry before it", EINVAL);
    }
  }
  return Status::Ok();
}

GenerationHistory TrimmedHistory(const GenerationHistory& history) {
  if (history.size() <= kMaxHistoryEntries) return history;
  return GenerationHistory(history.end() - kMaxHistoryEntries, history.end());
}

Generation NextGeneration(const GenerationHistory& history, std::string uuid, uint64_t start_seq,
                          int64_t created_at) {
  Generation g;
  g.uuid = std::move(uuid);
  g.start_seq = start_seq;
  g.parent = history.empty() ? "" : history.back().uuid;
  g.created_at = created_at;
  return g;
}

const char* HistoryVerdictName(HistoryVerdict v) {
  switch (v) {
    case HistoryVerdict::kUnrelated: return "unrelated";
    case HistoryVerdict::kSame: return "same";
    case HistoryVerdict::kLocalAhead: return "ahead";
    case HistoryVerdict::kLocalBehind: return "behind";
    case HistoryVerdict::kDiverged: return "diverged";
  }
  return "?";
}

HistoryComparison CompareHistories(const GenerationHistory& local, uint64_t local_last,
                                   const GenerationHistory& remote, uint64_t remote_last) {
  HistoryComparison c;
  const int li = NewestCommon(local, remote);
  if (li < 0) {
    c.verdict = HistoryVerdict::kUnrelated;
    c.row = 1;
    c.reason = "the histories have no generation in common (another RVG, or recreated)";
    return c;
  }
  const std::string common = local[li].uuid;
  int ri = static_cast<int>(remote.size()) - 1;
  while (remote[ri].uuid != common) --ri;
  const bool local_after = li + 1 < static_cast<int>(local.size());
  const bool remote_after = ri + 1 < static_cast<int>(remote.size());
  // A side "wrote after the split" when it holds a seq of a generation
  // the other side never saw.
  const bool local_wrote = local_after && local_last >= local[li + 1].start_seq;
  const bool remote_wrote = remote_after && remote_last >= remote[ri + 1].start_seq;

  if (!local_after && !remote_after) {
    c.common = common;
    const std::string in = " in generation " + Short(common);
    if (local_last == remote_last) {
      c.verdict = HistoryVerdict::kSame;
      c.row = 2;
      c.reason = "same: both hold up to seq " + std::to_string(local_last) + in;
    } else if (local_last > remote_last) {
      c.verdict = HistoryVerdict::kLocalAhead;
      c.row = 3;
      c.reason = "ahead: local holds up to seq " + std::to_string(local_last) + ", the peer " +
                 std::to_string(remote_last) + in;
    } else {
      c.verdict = HistoryVerdict::kLocalBehind;
      c.row = 4;
      c.reason = "behind: local holds up to seq " + std::to_string(local_last) + ", the peer " +
                 std::to_string(remote_last) + in;
    }
    return c;
  }
  if (local_after && remote_after && local_wrote == remote_wrote) {
    c.verdict = HistoryVerdict::kDiverged;
    c.common = common;
    c.row = local_wrote ? 11 : 12;
    c.reason = "diverged (split brain): after generation " + Short(common) + " local went on in " +
               Short(local.back().uuid) + " and the peer in " + Short(remote.back().uuid) +
               (local_wrote ? ", and both wrote" : ", though neither wrote since");
    return c;
  }
  // One line is the newer: the other either stopped at `common` or only
  // began generations it wrote nothing in (rows 9, 10: they are dropped).
  const bool remote_newer = remote_after && (!local_after || !local_wrote);
  if (remote_newer) {
    HistoryComparison b = Behind(HistoryVerdict::kLocalBehind, 5, 6, local_last,
                                 remote[ri + 1].start_seq, common, "local");
    if (local_after) b.row = 9;
    return b;
  }
  HistoryComparison a = Behind(HistoryVerdict::kLocalAhead, 7, 8, remote_last,
                               local[li + 1].start_seq, common, "the peer");
  if (remote_after) a.row = 10;
  return a;
}

}  // namespace rvg
