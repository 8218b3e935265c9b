#include "core/secondary_applier.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace rvg {

namespace {
// Sync at least this often while writes keep coming, so the data ack (and
// thus the primary's SRL tail) keeps moving under a steady stream.
constexpr auto kMaxSyncDelay = std::chrono::milliseconds(200);
constexpr uint64_t kMaxUnsyncedBytes = 32ull << 20;
}  // namespace

SecondaryApplier::SecondaryApplier(VolumeSet* volumes, AppliedSeqStore* store,
                                   uint64_t applied_seq, std::function<void()> on_applied)
    : volumes_(volumes),
      store_(store),
      on_applied_(std::move(on_applied)),
      reorder_(applied_seq + 1),
      applied_seq_(applied_seq) {}

SecondaryApplier::~SecondaryApplier() {
  Status st = Stop();
  if (!st.ok()) spdlog::error("stopping the applier: {}", st.message());
}

void SecondaryApplier::Start() {
  thread_ = std::thread([this] { ApplyLoop(); });
}

Status SecondaryApplier::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  ready_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  return health();
}

ReorderBuffer::Offer SecondaryApplier::Offer(WriteRecord record) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t before = reorder_.next_seq();
  ReorderBuffer::Offer result = reorder_.Add(std::move(record));
  if (result == ReorderBuffer::Offer::kAccepted && reorder_.contiguous_seq() >= before) {
    ready_cv_.notify_one();
  }
  return result;
}

uint64_t SecondaryApplier::received_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reorder_.contiguous_seq();
}

std::optional<std::pair<uint64_t, uint64_t>> SecondaryApplier::FirstGap() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reorder_.FirstGap();
}

uint64_t SecondaryApplier::held_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reorder_.held_bytes();
}

Status SecondaryApplier::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

Status SecondaryApplier::SyncAndPersist(uint64_t seq) {
  Status st = volumes_->SyncAll();
  if (!st.ok()) return st.Annotate("syncing the images");
  st = store_->SaveAppliedSeq(seq);
  if (!st.ok()) return st.Annotate("persisting applied_seq");
  applied_seq_ = seq;
  if (on_applied_) on_applied_();
  return Status::Ok();
}

void SecondaryApplier::ApplyLoop() {
  uint64_t written = applied_seq_.load();  // applied to the images, maybe not synced
  auto first_unsynced = std::chrono::steady_clock::now();
  uint64_t unsynced_bytes = 0;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    std::vector<WriteRecord> ready = reorder_.PopReady();
    if (ready.empty()) {
      if (written > applied_seq_.load()) {
        // Nothing more to apply right now: the batch is complete.
        lock.unlock();
        Status st = SyncAndPersist(written);
        lock.lock();
        unsynced_bytes = 0;
        if (!st.ok()) {
          failure_ = st;
          spdlog::error("applier stopped: {}", st.message());
          return;
        }
        continue;
      }
      if (stopping_) return;
      ready_cv_.wait(lock);
      continue;
    }
    lock.unlock();
    Status st;
    for (const WriteRecord& r : ready) {
      if (written == applied_seq_.load()) first_unsynced = std::chrono::steady_clock::now();
      st = volumes_->Write(r.volume, r.offset, r.data->data(), r.length);
      if (!st.ok()) break;
      written = r.seq;
      unsynced_bytes += r.length;
    }
    if (st.ok() && (unsynced_bytes >= kMaxUnsyncedBytes ||
                    std::chrono::steady_clock::now() - first_unsynced >= kMaxSyncDelay)) {
      st = SyncAndPersist(written);
      unsynced_bytes = 0;
    }
    lock.lock();
    if (!st.ok()) {
      // Applying out of order is never an option, so a failed image write
      // stops the applier; the secondary stays a consistent prefix and the
      // primary keeps the rest in its SRL.
      failure_ = st.Annotate("applying writes");
      spdlog::error("applier stopped: {}", failure_.message());
      return;
    }
  }
}

}  // namespace rvg
