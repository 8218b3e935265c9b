#include "cli/rvgd/session_loss_rotation.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "core/uuid.h"

namespace rvg {

SessionLossRotation::SessionLossRotation(SharedStateDb* db, std::string rvg,
                                         std::shared_ptr<GenerationLine> line,
                                         std::shared_ptr<RlinkSet> rlinks,
                                         const std::vector<std::string>& peer_generations)
    : db_(db),
      rvg_(std::move(rvg)),
      line_(std::move(line)),
      rlinks_(std::move(rlinks)),
      seen_(new std::atomic<uint64_t>[peer_generations.size()]),
      count_(peer_generations.size()) {
  for (size_t i = 0; i < count_; ++i) {
    seen_[i] = 0;
    PeerAccepted(i, peer_generations[i]);
  }
}

void SessionLossRotation::PeerAccepted(size_t i, const std::string& generation) {
  uint64_t version = 0;
  if (i < count_ && line_->IsCurrent(generation, &version)) seen_[i] = version + 1;
}

bool SessionLossRotation::RotationDue() {
  for (size_t i = 0; i < count_; ++i) {
    if (Seen(i) && !rlinks_->SessionIsUp(i)) return true;
  }
  return false;
}

Status SessionLossRotation::Rotate(uint64_t start_seq) {
  std::string lost;
  for (size_t i = 0; i < count_; ++i) {
    if (Seen(i) && !rlinks_->SessionIsUp(i)) {
      lost += (lost.empty() ? "" : ", ") + rlinks_->name(i);
    }
  }
  const Generation next = NextGeneration(line_->history(), NewUuid(), start_seq,
                                         static_cast<int64_t>(std::time(nullptr)));
  Status st = db_->Run([&](StateDb& db) { return db.AddGeneration(rvg_, next); });
  if (!st.ok()) return st;
  line_->Extend(next);  // voids every seen_
  spdlog::warn("RVG {}: sync direction: generation {} begins at seq {}: {} lost its session and "
               "writes go on without it (should it have taken over meanwhile, the histories now "
               "show a split brain instead of a silent rollback)",
               rvg_, next.uuid.substr(0, 8), start_seq, lost);
  return Status::Ok();
}

}  // namespace rvg
