#include "core/primary_rvg.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "core/crc32c.h"

namespace rvg {

struct PrimaryRvg::PendingWrite {
  WriteRecord record;
  Status status;
  bool done = false;
};

PrimaryRvg::PrimaryRvg(std::unique_ptr<VolumeSet> volumes, std::unique_ptr<Srl> srl,
                       std::vector<std::shared_ptr<RlinkProgress>> rlinks,
                       CheckpointListener* listener, PrimaryOptions options)
    : volumes_(std::move(volumes)),
      srl_(std::move(srl)),
      rlinks_(std::move(rlinks)),
      listener_(listener),
      options_(options),
      inflight_(options.inflight_budget_bytes) {}

Result<std::unique_ptr<PrimaryRvg>> PrimaryRvg::Open(
    std::unique_ptr<VolumeSet> volumes, std::unique_ptr<Srl> srl,
    std::vector<std::shared_ptr<RlinkProgress>> rlinks, CheckpointListener* listener,
    PrimaryOptions options) {
  std::unique_ptr<PrimaryRvg> rvg(
      new PrimaryRvg(std::move(volumes), std::move(srl), std::move(rlinks), listener, options));
  Status st = rvg->Recover();
  if (!st.ok()) return st;
  rvg->flusher_ = std::thread([p = rvg.get()] { p->FlusherLoop(); });
  rvg->checkpointer_ = std::thread([p = rvg.get()] { p->CheckpointerLoop(); });
  return rvg;
}

PrimaryRvg::~PrimaryRvg() {
  Status st = Close();
  if (!st.ok()) spdlog::error("closing the write pipeline: {}", st.message());
}

Status PrimaryRvg::Recover() {
  bytes_base_seq_ = srl_->tail_seq();
  uint64_t replayed = 0;
  uint64_t first = 0;
  Status st = srl_->Recover([&](const WriteRecord& r) -> Status {
    Status range = volumes_->CheckRange(r.volume, r.offset, r.length);
    if (!range.ok()) {
      return Status::Error("SRL record seq " + std::to_string(r.seq) +
                           " does not fit this RVG's volumes (" + range.message() +
                           "); the SRL belongs to a different volume layout");
    }
    Status w = volumes_->Write(r.volume, r.offset, r.data->data(), r.length);
    if (!w.ok()) return w;
    if (replayed++ == 0) first = r.seq;
    RecordBytesLocked(r.seq, r.length);
    return Status::Ok();
  });
  if (!st.ok()) return st.Annotate("replaying the SRL " + srl_->path());
  if (replayed > 0) {
    Status sync = volumes_->SyncAll();
    if (!sync.ok()) return sync.Annotate("syncing images after SRL replay");
    spdlog::info("replayed {} SRL records (seq {}..{}) into the images", replayed, first,
                 first + replayed - 1);
  }
  next_seq_ = srl_->next_seq();
  written_seq_ = next_seq_ - 1;
  synced_seq_ = written_seq_;
  bytes_base_seq_ = srl_->tail_seq();
  return Status::Ok();
}

void PrimaryRvg::RecordBytesLocked(uint64_t seq, uint32_t length) {
  if (bytes_before_.empty()) bytes_base_seq_ = seq;
  bytes_before_.push_back(bytes_total_);
  bytes_total_ += length;
}

Status PrimaryRvg::Read(uint32_t volume, uint64_t offset, void* buf, size_t length) {
  Status st = volumes_->CheckRange(volume, offset, length);
  if (!st.ok()) return st;
  return volumes_->Read(volume, offset, buf, length);
}

Status PrimaryRvg::Write(uint32_t volume, uint64_t offset, const void* data, size_t length,
                         bool strict) {
  if (length == 0) return Status::Ok();
  if (length > kMaxWriteBytes) {
    return Status::Error("write of " + std::to_string(length) + " bytes exceeds the " +
                             std::to_string(kMaxWriteBytes) + "-byte limit",
                         EINVAL);
  }
  Status st = volumes_->CheckRange(volume, offset, length);
  if (!st.ok()) return st;

  // The copy is made before taking the lock, so concurrent writers overlap
  // their memcpy and checksum work.
  auto buffer = std::make_shared<DataBuffer>(length);
  std::memcpy(buffer->data(), data, length);
  PendingWrite w;
  w.record.volume = volume;
  w.record.offset = offset;
  w.record.length = static_cast<uint32_t>(length);
  w.record.data_crc = Crc32c(buffer->data(), length);
  w.record.data = std::move(buffer);

  std::unique_lock<std::mutex> lock(mu_);
  if (!failure_.ok()) return failure_;
  if (closing_) return Status::Error("the RVG is stopping; write refused", EIO);
  w.record.seq = next_seq_++;
  queue_.push_back(&w);
  while (!w.done && queue_.front() != &w) queue_cv_.wait(lock);
  if (!w.done) LeadBatch(lock);
  if (!w.status.ok()) return w.status;
  if (strict || options_.strict) return WaitSynced(lock, w.record.seq);
  return Status::Ok();
}

void PrimaryRvg::LeadBatch(std::unique_lock<std::mutex>& lock) {
  // The batch is the run of queued writes from the front, bounded so that one
  // group commit does not hold everyone behind it for too long.
  batch_.clear();
  uint64_t bytes = 0;
  size_t count = 0;
  for (PendingWrite* p : queue_) {
    if (count > 0 && (count >= options_.max_batch_records ||
                      bytes + p->record.length > options_.max_batch_bytes)) {
      break;
    }
    batch_.push_back(p->record);
    bytes += p->record.length;
    ++count;
  }

  Status st = failure_;
  if (st.ok()) {
    lock.unlock();
    st = AppendToSrl(batch_);
    for (size_t i = 0; st.ok() && i < batch_.size(); ++i) {
      const WriteRecord& r = batch_[i];
      st = volumes_->Write(r.volume, r.offset, r.data->data(), r.length);
    }
    lock.lock();
    if (st.ok()) {
      written_seq_ = batch_.back().seq;
      for (const WriteRecord& r : batch_) {
        RecordBytesLocked(r.seq, r.length);
        inflight_.Add(r);
      }
      flusher_cv_.notify_one();
    } else if (failure_.ok()) {
      failure_ = st.Annotate("write pipeline stopped");
      spdlog::error("{}; every further write fails until rvgd is restarted", failure_.message());
    }
  }
  for (size_t i = 0; i < count; ++i) {
    PendingWrite* p = queue_.front();
    p->status = st.ok() ? Status::Ok() : failure_;
    p->done = true;
    queue_.pop_front();
  }
  queue_cv_.notify_all();
}

Status PrimaryRvg::AppendToSrl(std::vector<WriteRecord>& batch) {
  size_t done = 0;
  while (done < batch.size()) {
    Result<size_t> n = srl_->Append(batch.data() + done, batch.size() - done);
    if (!n.ok()) return n.status().Annotate("appending to the SRL");
    done += *n;
    if (done == batch.size()) break;
    if (*n > 0) continue;
    // The SRL is full: wait until the checkpointer frees space. With
    // srlprot and DCM not built yet, waiting is the only safe answer.
    std::unique_lock<std::mutex> lock(mu_);
    if (!srl_full_logged_) {
      spdlog::warn("SRL {} is full; writes wait until the secondaries catch up",
                   srl_->path());
      srl_full_logged_ = true;
    }
    if (closing_) return Status::Error("the RVG is stopping while the SRL is full", EIO);
    checkpoint_wanted_ = true;
    checkpoint_cv_.notify_one();
    space_cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
  return Status::Ok();
}

Status PrimaryRvg::WaitSynced(std::unique_lock<std::mutex>& lock, uint64_t seq) {
  flusher_cv_.notify_one();
  while (synced_seq_.load() < seq && failure_.ok()) synced_cv_.wait(lock);
  return synced_seq_.load() >= seq ? Status::Ok() : failure_;
}

Status PrimaryRvg::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  return WaitSynced(lock, written_seq_);
}

void PrimaryRvg::FlusherLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    flusher_cv_.wait(lock, [&] {
      return (written_seq_ > synced_seq_.load() && failure_.ok()) || closed_;
    });
    if (written_seq_ <= synced_seq_.load() || !failure_.ok()) {
      if (closed_) return;
      continue;
    }
    uint64_t target = written_seq_;
    lock.unlock();
    Status st = srl_->Sync();
    lock.lock();
    if (st.ok()) {
      synced_seq_ = target;
    } else if (failure_.ok()) {
      failure_ = st.Annotate("syncing the SRL");
      spdlog::error("{}; every further write fails until rvgd is restarted", failure_.message());
    }
    synced_cv_.notify_all();
    std::vector<std::function<void()>> listeners = sync_listeners_;
    lock.unlock();
    for (auto& l : listeners) l();
    lock.lock();
  }
}

void PrimaryRvg::AddSyncListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(mu_);
  sync_listeners_.push_back(std::move(listener));
}

void PrimaryRvg::CheckpointerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!closed_) {
    checkpoint_cv_.wait_for(lock, options_.checkpoint_interval,
                            [&] { return checkpoint_wanted_ || closed_; });
    if (closed_) break;
    checkpoint_wanted_ = false;
    lock.unlock();
    Status st = Checkpoint();
    if (!st.ok()) spdlog::error("checkpoint failed (will retry): {}", st.message());
    lock.lock();
  }
}

Status PrimaryRvg::Checkpoint() {
  uint64_t applied;
  {
    std::lock_guard<std::mutex> lock(mu_);
    applied = written_seq_;
  }
  // Order matters: images durable first, then the RLINKs' acks durable, and
  // only then may the SRL forget records before the new tail.
  Status st = volumes_->SyncAll();
  if (!st.ok()) return st.Annotate("syncing images");

  std::vector<RlinkSnapshot> snaps;
  snaps.reserve(rlinks_.size());
  for (const auto& r : rlinks_) {
    RlinkSnapshot s;
    s.name = r->name;
    s.state = r->state.load();
    s.sent_seq = r->sent_seq.load();
    s.net_acked_seq = r->net_acked_seq.load();
    s.data_acked_seq = r->data_acked_seq.load();
    snaps.push_back(s);
  }
  if (listener_ != nullptr) {
    st = listener_->PersistRlinkProgress(snaps);
    if (!st.ok()) return st.Annotate("persisting RLINK progress");
  }

  uint64_t new_tail = applied + 1;
  for (const RlinkSnapshot& s : snaps) {
    // A stale RLINK needs a full sync whatever the SRL holds; it must not
    // pin the log.
    if (s.state == RlinkState::kStale) continue;
    new_tail = std::min(new_tail, s.data_acked_seq + 1);
  }
  if (new_tail <= srl_->tail_seq()) return Status::Ok();
  st = srl_->AdvanceTail(new_tail);
  if (!st.ok()) return st.Annotate("advancing the SRL tail");

  std::lock_guard<std::mutex> lock(mu_);
  while (!bytes_before_.empty() && bytes_base_seq_ + 1 < new_tail) {
    bytes_before_.pop_front();
    ++bytes_base_seq_;
  }
  srl_full_logged_ = false;
  space_cv_.notify_all();
  return Status::Ok();
}

Status PrimaryRvg::Close() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (closed_) return failure_;
    closing_ = true;
    // Writes already queued complete (their leaders are running); new ones
    // are refused above.
    queue_cv_.wait(lock, [&] { return queue_.empty(); });
  }
  Status st = Flush();
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  flusher_cv_.notify_all();
  checkpoint_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  if (checkpointer_.joinable()) checkpointer_.join();
  Status cp = Checkpoint();
  if (st.ok()) st = cp;
  return st;
}

uint64_t PrimaryRvg::last_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_seq_;
}

uint64_t PrimaryRvg::srl_tail_seq() const { return srl_->tail_seq(); }

Result<WriteRecord> PrimaryRvg::GetRecord(uint64_t seq) const {
  std::optional<WriteRecord> r = inflight_.Find(seq);
  if (r) return *r;
  return srl_->Read(seq);
}

uint64_t PrimaryRvg::BytesAfter(uint64_t seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (seq >= written_seq_ || bytes_before_.empty()) return 0;
  uint64_t next = seq + 1;
  if (next < bytes_base_seq_) return bytes_total_ - bytes_before_.front();
  uint64_t idx = next - bytes_base_seq_;
  if (idx >= bytes_before_.size()) return 0;
  return bytes_total_ - bytes_before_[idx];
}

Status PrimaryRvg::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

}  // namespace rvg
