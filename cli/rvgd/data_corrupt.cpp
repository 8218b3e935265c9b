#include "cli/rvgd/data_corrupt.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "core/uuid.h"

namespace rvg {

namespace {
constexpr const char* kFlag = "data_corrupt";
}

Status DataCorruptGate::HeldStatus() const {
  return Status::Error("RVG " + rvg_ + " is held back as data_corrupt (this primary did not stop "
                       "cleanly and no secondary has answered since): writes are refused until "
                       "one does, or run rvgadm force-online " + rvg_,
                       EROFS);
}

Status DataCorruptGate::Open(bool was_running, bool has_rlinks) {
  Result<std::vector<FlagEntry>> flags = db_->Run([&](StateDb& db) { return db.Flags(rvg_); });
  if (!flags.ok()) return flags.status();
  bool held = false;
  for (const FlagEntry& f : *flags) held = held || f.name == kFlag;
  if (!held && was_running && has_rlinks) {
    const std::string why = "rvgd ended without a clean stop (a crash, SIGKILL or power cut); a "
                            "secondary may have taken over since";
    Status st = db_->Run([&](StateDb& db) { return db.SetFlag(rvg_, kFlag, "1", why); });
    if (!st.ok()) return st.Annotate("flagging data_corrupt");
    held = true;
  }
  if (held) {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = true;
    engine_->Fence(PrimaryRvg::FenceCause::kDataCorrupt, HeldStatus());
    spdlog::error("RVG {}: data_corrupt: this primary did not stop cleanly last time, so another "
                  "host may have taken over; writes are refused until a secondary answers (or "
                  "rvgadm force-online {})", rvg_, rvg_);
  }
  return Status::Ok();
}

Status DataCorruptGate::Serving() {
  return db_->Run([&](StateDb& db) { return db.SetPrimaryRunning(rvg_, true); })
      .Annotate("recording that the primary serves");
}

void DataCorruptGate::SecondaryAnswered(const std::string& rlink) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!held_) return;
  Status st = db_->Run([&](StateDb& db) { return db.ClearFlag(rvg_, kFlag); });
  if (!st.ok()) {
    // Serving writes while state.db still says data_corrupt would hold
    // them back again after a restart for no reason; harmless, but the
    // administrator should know the database refused.
    spdlog::error("RVG {}: clearing data_corrupt: {}", rvg_, st.message());
  }
  held_ = false;
  engine_->Unfence(PrimaryRvg::FenceCause::kDataCorrupt);
  spdlog::warn("RVG {}: sync direction: secondary {} answered as a copy of this primary's line: "
               "data_corrupt cleared, writes are served", rvg_, rlink);
}

Result<std::string> DataCorruptGate::ForceOnline() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!held_) return "RVG " + rvg_ + " is online already: it is not held back as data_corrupt";
  // Fenced since Open(): no write is admitted, so the seq after the last
  // is the first of the new generation.
  const uint64_t start = engine_->last_seq() + 1;
  RoleChange change;
  change.role = "primary";
  change.generation =
      NextGeneration(line_->history(), NewUuid(), start, static_cast<int64_t>(std::time(nullptr)));
  change.clear_flags.push_back(kFlag);
  Status st = db_->Run([&](StateDb& db) { return db.ChangeRole(rvg_, change); });
  if (!st.ok()) return st.Annotate("force-online");
  // Before the first write is admitted: senders see the generation of
  // every seq they send (GenerationLine).
  line_->Extend(*change.generation);
  held_ = false;
  engine_->Unfence(PrimaryRvg::FenceCause::kDataCorrupt);
  const std::string gen = change.generation->uuid.substr(0, 8);
  spdlog::warn("RVG {}: forced online by the administrator: generation {} begins at seq {} "
               "(a host that took over meanwhile will report a split brain)",
               rvg_, gen, start);
  return "RVG " + rvg_ + " forced online: generation " + gen + " begins at seq " +
         std::to_string(start) + "; a secondary that took over meanwhile will report a split "
         "brain rather than overwrite either side";
}

void DataCorruptGate::CleanStop() {
  Status st = db_->Run([&](StateDb& db) { return db.SetPrimaryRunning(rvg_, false); });
  if (!st.ok()) {
    spdlog::error("RVG {}: recording the clean stop: {} (the next start holds writes back until "
                  "a secondary answers)", rvg_, st.message());
  }
}

bool DataCorruptGate::held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_;
}

}  // namespace rvg
