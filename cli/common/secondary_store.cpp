#include "cli/common/secondary_store.h"

#include <algorithm>

namespace rvg {

namespace {
constexpr const char* kInconsistent = "inconsistent";
}  // namespace

Status SecondaryStore::SaveAppliedSeq(uint64_t applied_seq) {
  return run_([&](StateDb& db) { return db.SaveAppliedSeq(rvg_, applied_seq); });
}

Result<uint64_t> SecondaryStore::LoadAppliedSeq() {
  uint64_t seq = 0;
  Status st = run_([&](StateDb& db) {
    Result<uint64_t> applied = db.AppliedSeq(rvg_);
    if (applied.ok()) seq = *applied;
    return applied.ok() ? Status::Ok() : applied.status();
  });
  if (!st.ok()) return st;
  return seq;
}

Status SecondaryStore::SaveConsistency(bool consistent) {
  std::optional<GenerationHistory> failback;
  std::function<void(const GenerationHistory&)> ended;
  if (consistent) {
    std::lock_guard<std::mutex> lock(mu_);
    failback.swap(failback_end_);
    ended.swap(ended_);
  }
  if (failback) {
    Status st = run_([&](StateDb& db) { return db.EndFailback(rvg_, *failback); });
    if (!st.ok()) {
      // Still armed for the applier's retry (a busy database) or restart.
      ArmFailbackEnd(std::move(*failback), std::move(ended));
      return st;
    }
    if (ended) ended(*failback);
    return st;
  }
  return run_([&](StateDb& db) {
    if (consistent) return db.ClearFlag(rvg_, kInconsistent);
    return db.SetFlag(rvg_, kInconsistent, "bitmap resync from the primary");
  });
}

void SecondaryStore::ArmFailbackEnd(GenerationHistory history,
                                    std::function<void(const GenerationHistory&)> ended) {
  std::lock_guard<std::mutex> lock(mu_);
  failback_end_ = std::move(history);
  ended_ = std::move(ended);
}

void SecondaryStore::DisarmFailbackEnd() {
  std::lock_guard<std::mutex> lock(mu_);
  failback_end_.reset();
  ended_ = nullptr;
}

Result<bool> SecondaryStore::LoadConsistency() {
  bool consistent = true;
  Status st = run_([&](StateDb& db) {
    Result<std::vector<FlagEntry>> flags = db.Flags(rvg_);
    if (flags.ok()) consistent = !FlaggedInconsistent(*flags);
    return flags.ok() ? Status::Ok() : flags.status();
  });
  if (!st.ok()) return st;
  return consistent;
}

bool FlaggedInconsistent(const std::vector<FlagEntry>& flags) {
  return std::any_of(flags.begin(), flags.end(),
                     [](const FlagEntry& flag) { return flag.name == kInconsistent; });
}

std::optional<UndoSummary> StoredUndo(const Home& home, const RvgConfig& config, bool consistent) {
  if (consistent || config.role != "secondary") return std::nullopt;
  Result<std::optional<UndoSummary>> peeked =
      UndoArea::Peek(home.UndoPath(config.name), config.srl_uuid);
  return peeked.ok() ? *peeked : std::nullopt;
}

}  // namespace rvg
