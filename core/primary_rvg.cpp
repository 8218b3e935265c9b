#include "core/primary_rvg.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "core/crc32c.h"
#include "core/srl_replay.h"

namespace rvg {

namespace {

// Writes that waited for space in a full SRL were never acknowledged, so
// failing them loses nothing.
Status AbandonedWrite() {
  return Status::Error(
      "the write waited for space in a full SRL and was abandoned by rvgadm stop; it was not done",
      EIO);
}

}  // namespace

// A write in the queue. It gets its seq only when a leader takes it into a
// batch, so that writes failed while still queued leave no gap in the seqs.
struct PrimaryRvg::PendingWrite {
  WriteRecord record;
  Status status;
  bool done = false;
  // The RLINKs tracking in their DCM when the record was appended: the
  // writer marks its regions for exactly these before the write is
  // answered (whatever they do meanwhile), and marking_ holds its seq (and
  // the SRL tail) until then.
  std::vector<size_t> mark_for;
  // Signalled when the write is done or becomes the queue's front, and only
  // then: a batch wakes exactly the writers it answered and the next
  // leader, not every queued writer.
  std::condition_variable cv;
};

PrimaryRvg::PrimaryRvg(std::unique_ptr<VolumeSet> volumes, std::unique_ptr<Srl> srl,
                       std::shared_ptr<RlinkSet> rlinks, CheckpointListener* listener,
                       PrimaryOptions options)
    : volumes_(std::move(volumes)),
      srl_(std::move(srl)),
      rlinks_(rlinks ? std::move(rlinks) : std::make_shared<RlinkSet>(std::vector<RlinkInit>{})),
      listener_(listener),
      options_(options),
      inflight_(options.inflight_budget_bytes) {}

Result<std::unique_ptr<PrimaryRvg>> PrimaryRvg::Open(std::unique_ptr<VolumeSet> volumes,
                                                     std::unique_ptr<Srl> srl,
                                                     std::shared_ptr<RlinkSet> rlinks,
                                                     CheckpointListener* listener,
                                                     PrimaryOptions options) {
  std::unique_ptr<PrimaryRvg> rvg(
      new PrimaryRvg(std::move(volumes), std::move(srl), std::move(rlinks), listener, options));
  Status st = rvg->Recover();
  if (!st.ok()) {
    // Nothing was started, and a checkpoint by the destructor's Close()
    // would vouch for images and a log that recovery did not accept.
    rvg->closed_ = true;
    return st;
  }
  rvg->flusher_ = std::thread([p = rvg.get()] { p->FlusherLoop(); });
  rvg->checkpointer_ = std::thread([p = rvg.get()] { p->CheckpointerLoop(); });
  return rvg;
}

PrimaryRvg::~PrimaryRvg() {
  Status st = Close();
  if (!st.ok()) spdlog::error("closing the write pipeline: {}", st.message());
}

Status PrimaryRvg::Recover() {
  // Any seq an RLINK was sent must still be in the log, or the log is
  // damaged: Srl::Recover refuses to end below it.
  const uint64_t durable_floor = rlinks_->HighestKnownSeq();
  // The SRL keeps no write times: replayed records count from now.
  const auto now = std::chrono::steady_clock::now();
  Result<SrlReplayResult> replayed =
      ReplaySrl(srl_.get(), volumes_.get(), durable_floor,
                [&](const WriteRecord& r) { RecordMarkLocked(r.seq, r.length, now); });
  if (!replayed.ok()) return replayed.status();
  written_seq_ = srl_->next_seq() - 1;
  synced_seq_ = written_seq_;
  applied_seq_ = written_seq_;
  if (marks_.empty()) marks_base_seq_ = srl_->tail_seq();
  rlinks_->Sequenced(written_seq_);
  // An RLINK that was tracking when rvgd stopped: the records the SRL
  // still holds may include ones it was owed (after a resync's seq) —
  // mark them all before the first checkpoint may release them.
  for (size_t i = 0; i < rlinks_->size(); ++i) {
    if (rlinks_->Tracking(i) && srl_->tail_seq() <= written_seq_) {
      dcm_scans_.push_back({i, srl_->tail_seq(), written_seq_});
    }
  }
  return Status::Ok();
}

void PrimaryRvg::RecordMarkLocked(uint64_t seq, uint32_t length,
                                  std::chrono::steady_clock::time_point now) {
  if (marks_.empty()) marks_base_seq_ = seq;
  marks_.push_back({data_total_, srl_total_, now});
  data_total_ += length;
  srl_total_ += Srl::RecordBytes(length);
}

void PrimaryRvg::FailLocked(const Status& st, const std::string& context) {
  if (!failure_.ok()) return;
  failure_ = st.Annotate("write pipeline stopped: " + context);
  spdlog::error("{}; every further write fails until rvgd is restarted (the restart replays "
                "the SRL)",
                failure_.message());
  queue_cv_.notify_all();
  synced_cv_.notify_all();
  space_cv_.notify_all();
  flusher_cv_.notify_all();
  applied_cv_.notify_all();
}

Status PrimaryRvg::Read(uint32_t volume, uint64_t offset, void* buf, size_t length) {
  Status st = volumes_->CheckRange(volume, offset, length);
  if (!st.ok()) return st;
  // Snapshot first, image second: see the invariant in unapplied_writes.h.
  thread_local std::vector<WriteRecord> newer;
  unapplied_.CollectOverlapping(volume, offset, length, &newer);
  st = volumes_->Read(volume, offset, buf, length);
  if (st.ok()) UnappliedWrites::LayOver(newer, offset, static_cast<uint8_t*>(buf), length);
  newer.clear();
  return st;
}

// The same order as Read(): a write answered before this call is either
// still held (and the range is refused) or already on the image, which the
// caller reads only afterwards.
int PrimaryRvg::DirectReadFd(uint32_t volume, uint64_t offset, size_t length) {
  if (!volumes_->CheckRange(volume, offset, length).ok()) return -1;
  if (unapplied_.AnyOverlapping(volume, offset, length)) return -1;
  return volumes_->NativeFd(volume);
}

Status PrimaryRvg::Write(uint32_t volume, uint64_t offset, const void* data, size_t length,
                         bool strict) {
  if (fenced_.load()) {
    Status fenced = FenceStatus();
    if (!fenced.ok()) return fenced;
  }
  if (length == 0) return Status::Ok();
  if (length > kMaxWriteBytes) {
    return Status::Error("write of " + std::to_string(length) + " bytes exceeds the " +
                             std::to_string(kMaxWriteBytes) + "-byte limit",
                         EINVAL);
  }
  Status st = volumes_->CheckRange(volume, offset, length);
  if (!st.ok()) return st;
  // Before the queue, so a write held back by a protection holds up no one.
  st = rlinks_->AdmitWrite();
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
  queue_.push_back(&w);
  while (!w.done && queue_.front() != &w) w.cv.wait(lock);
  if (!w.done) LeadBatch(lock);
  if (!w.status.ok()) return w.status;
  if (!w.mark_for.empty()) {
    lock.unlock();
    MarkTracked(w.record, w.mark_for);
    lock.lock();
    marking_.erase(marking_.find(w.record.seq));
    marked_cv_.notify_all();
  }
  if (!strict && !options_.strict) return Status::Ok();
  st = WaitSynced(lock, w.record.seq);
  if (!st.ok()) return st;
  lock.unlock();
  return rlinks_->WaitForSyncAcks(w.record.seq);
}

void PrimaryRvg::AnswerQueueFrontLocked(const Status& status) {
  PendingWrite* p = queue_.front();
  p->status = status;
  p->done = true;
  p->cv.notify_one();
  queue_.pop_front();
  WakeQueueFrontLocked();
}

void PrimaryRvg::LeadBatch(std::unique_lock<std::mutex>& lock) {
  // Memory for reads of data not yet on the images is bounded: a stalled
  // image holds up new writes instead of letting them pile up in RAM.
  // A stop ends the wait like a wait for SRL space (AbortSpaceWaits fails
  // the queued writes; BeginClose lets them through to be drained).
  const uint64_t epoch = space_abort_epoch_;
  while (failure_.ok() && !closing_ && epoch == space_abort_epoch_ &&
         unapplied_.held_bytes() > 0 &&
         unapplied_.held_bytes() >= options_.unapplied_budget_bytes) {
    budget_wait_ = true;
    flusher_cv_.notify_one();
    applied_cv_.wait(lock);
  }
  budget_wait_ = false;
  if (epoch != space_abort_epoch_) {
    // AbortSpaceWaits() failed every queued write, this leader's too; a
    // writer queued since then leads for itself.
    WakeQueueFrontLocked();
    return;
  }
  if (!BeginGenerationIfDue(lock, epoch)) return;
  if (!failure_.ok()) {
    // No seq is handed out after a failure: fail everyone queued.
    for (PendingWrite* p : queue_) {
      p->status = failure_;
      p->done = true;
      p->cv.notify_one();
    }
    queue_.clear();
    WakeQueueFrontLocked();
    return;
  }
  // The batch is the run of queued writes from the front, bounded so that one
  // group commit does not hold everyone behind it for too long. Seqs are
  // handed out here, in queue order, right after the last appended one.
  batch_.clear();
  uint64_t bytes = 0;
  for (PendingWrite* p : queue_) {
    if (!batch_.empty() && (batch_.size() >= options_.max_batch_records ||
                            bytes + p->record.length > options_.max_batch_bytes)) {
      break;
    }
    p->record.seq = written_seq_ + 1 + batch_.size();
    if (options_.on_sequenced) options_.on_sequenced(p->record);
    batch_.push_back(p->record);
    bytes += p->record.length;
  }
  leading_ = batch_.size();
  batch_mark_for_.assign(batch_.size(), {});
  size_t appended = 0;
  Status st = AppendToSrl(lock, &appended);
  // Records in the SRL are answered OK even if the rest of the batch was
  // abandoned: they will be synced, applied and replicated like any other.
  // (After an I/O failure they are not synced; Flush() reports the failure.)
  if (appended < batch_.size() && failure_.ok() && options_.on_released) {
    options_.on_released(written_seq_ + 1);
  }
  for (size_t i = 0; i < batch_.size(); ++i) {
    PendingWrite* p = queue_.front();
    p->status = i < appended ? Status::Ok() : st;
    if (i < appended) p->mark_for = std::move(batch_mark_for_[i]);
    p->done = true;
    p->cv.notify_one();
    queue_.pop_front();
  }
  leading_ = 0;
  WakeQueueFrontLocked();
}

// The queue's new front leads the next batch; Close() waits for an empty
// queue. The notifications are made under mu_, so a woken writer cannot
// return (and destroy its PendingWrite) before they are done.
void PrimaryRvg::WakeQueueFrontLocked() {
  if (queue_.empty()) {
    queue_cv_.notify_all();
  } else {
    queue_.front()->cv.notify_one();
  }
}

// Appends batch_ to the SRL and sets `*done` to how many records made it;
// called and returns with `lock` held, drops it around the I/O. Whatever
// part of the batch was appended is published before waiting for space,
// because only published records can be synced, applied and checkpointed
// away — waiting on our own records is the deadlock of a batch larger than
// the free space.
Status PrimaryRvg::AppendToSrl(std::unique_lock<std::mutex>& lock, size_t* done_out) {
  size_t& done = *done_out;
  done = 0;
  while (done < batch_.size()) {
    // Space is freed only by moving the tail; a checkpoint may do so while
    // the append runs unlocked, so the wait below compares with this.
    const uint64_t tail_before = srl_->tail_seq();
    lock.unlock();
    Result<size_t> n = srl_->Append(batch_.data() + done, batch_.size() - done);
    lock.lock();
    if (!n.ok()) {
      FailLocked(n.status(), "appending to the SRL");
      return failure_;
    }
    PublishAppendedLocked(done, *n);
    done += *n;
    if (done == batch_.size()) break;
    if (*n > 0) continue;
    if (options_.on_srl_full) {
      lock.unlock();
      options_.on_srl_full();
      lock.lock();
    }
    // The part of the batch in the SRL holds the tail until it is marked
    // for the tracking RLINKs (marking_), and its writers mark only once
    // the whole batch is in: mark it here, or the space the rest waits for
    // could never be freed.
    MarkPublishedLocked(lock, done);
    // The SRL is full: each RLINK that holds its tail is dealt with by its
    // srlprot (fail the write, go stale, switch to DCM, or stall). Then
    // wait; a checkpoint that frees space, a failure, BeginClose() and
    // AbortSpaceWaits() end the wait.
    bool dcm_stall = false;
    Status refused = OnSrlFullLocked(&dcm_stall);
    if (!refused.ok()) return refused;
    if (!srl_full_logged_) {
      spdlog::warn("SRL {} is full; writes wait until the secondaries catch up",
                   srl_->path());
      srl_full_logged_ = true;
    }
    srl_full_ = true;
    const uint64_t epoch = space_abort_epoch_;
    // srlprot=dcm with the RLINK connected stalls writes until the SRL has
    // drained 5 % or 20 MiB, whichever is smaller (VVR's rule), so that
    // writers do not wake for every record the secondary acknowledges.
    const uint64_t release = std::min<uint64_t>(srl_->capacity_bytes() / 20, 20ull << 20);
    auto room = [&] {
      if (srl_->tail_seq() == tail_before) return false;
      return !dcm_stall || srl_->capacity_bytes() - srl_->used_bytes() >= release;
    };
    while (!room() && failure_.ok() && !closing_ && epoch == space_abort_epoch_) {
      // What holds the tail may change while we wait (a stalled srlprot=dcm
      // RLINK disconnects and must switch to DCM now): ask again.
      dcm_stall = false;
      refused = OnSrlFullLocked(&dcm_stall);
      if (!refused.ok()) {
        srl_full_ = false;
        return refused;
      }
      checkpoint_wanted_ = true;
      checkpoint_cv_.notify_one();
      space_cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
    srl_full_ = false;
    if (!failure_.ok()) return failure_;
    if (closing_ || epoch != space_abort_epoch_) {
      return AbandonedWrite();
    }
  }
  srl_full_logged_ = false;
  return Status::Ok();
}

void PrimaryRvg::PublishAppendedLocked(size_t first, size_t count) {
  if (count == 0) return;
  const auto now = std::chrono::steady_clock::now();
  // Which RLINKs track is fixed here, as the records become written and
  // under the lock that every switch in or out of tracking holds: a
  // resync that begins between two appends of one batch must find the
  // first part either marked or in marking_.
  std::vector<size_t> tracking;
  if (rlinks_->AnyTracking()) {
    for (size_t r = 0; r < rlinks_->size(); ++r) {
      if (rlinks_->Tracking(r)) tracking.push_back(r);
    }
  }
  for (size_t i = first; i < first + count; ++i) {
    const WriteRecord& r = batch_[i];
    if (!tracking.empty()) {
      batch_mark_for_[i] = tracking;
      marking_.insert(r.seq);
    }
    RecordMarkLocked(r.seq, r.length, now);
    if (!watches_.empty()) TripWatchesLocked(r);
    inflight_.Add(r);
    unapplied_.Add(r);
  }
  written_seq_ = batch_[first + count - 1].seq;
  rlinks_->Sequenced(written_seq_);
  flusher_cv_.notify_one();
}

Status PrimaryRvg::WaitSynced(std::unique_lock<std::mutex>& lock, uint64_t seq) {
  flusher_cv_.notify_one();
  while (synced_seq_.load() < seq && failure_.ok()) synced_cv_.wait(lock);
  return synced_seq_.load() >= seq ? Status::Ok() : failure_;
}

Status PrimaryRvg::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!failure_.ok()) return failure_;
  const uint64_t target = written_seq_;
  Status st = WaitSynced(lock, target);
  if (!st.ok()) return st;
  lock.unlock();
  return rlinks_->WaitForSyncAcks(target);
}

void PrimaryRvg::FlusherLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    flusher_cv_.wait(lock, [&] {
      return closed_ || (failure_.ok() && (written_seq_ > synced_seq_.load() ||
                                           synced_seq_.load() > applied_seq_));
    });
    if (!failure_.ok() || (written_seq_ == synced_seq_.load() &&
                           synced_seq_.load() == applied_seq_)) {
      if (closed_) return;
      continue;
    }
    if (written_seq_ > synced_seq_.load() && !SyncSrl(lock)) continue;
    ApplySynced(lock);
  }
}

// fdatasync of the SRL; publishes synced_seq and tells the senders.
bool PrimaryRvg::SyncSrl(std::unique_lock<std::mutex>& lock) {
  uint64_t target = written_seq_;
  lock.unlock();
  Status st = srl_->Sync();
  lock.lock();
  if (!st.ok()) {
    FailLocked(st, "syncing the SRL");
    return false;
  }
  synced_seq_ = target;
  synced_cv_.notify_all();
  std::vector<std::function<void()>> listeners = sync_listeners_;
  lock.unlock();
  for (auto& l : listeners) l();
  lock.lock();
  return true;
}

// Writes the synced, not yet applied records to the images in seq order.
void PrimaryRvg::ApplySynced(std::unique_lock<std::mutex>& lock) {
  const uint64_t target = synced_seq_.load();
  if (target <= applied_seq_) return;
  std::vector<WriteRecord> records;
  unapplied_.CollectUpTo(target, &records);
  lock.unlock();
  // Adjacent records go to their image in one pwritev, in seq order.
  size_t written = 0;
  Status st = volumes_->WriteRecords(records.data(), records.size(), &written);
  if (!st.ok()) st = st.Annotate("applying synced records to their images");
  const uint64_t applied = written > 0 ? records[written - 1].seq : 0;
  if (applied > 0) unapplied_.RemoveUpTo(applied);
  lock.lock();
  if (applied > applied_seq_) applied_seq_ = applied;
  applied_cv_.notify_all();
  if (!st.ok()) FailLocked(st, "writing an image");
}

void PrimaryRvg::AddSyncListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(mu_);
  sync_listeners_.push_back(std::move(listener));
}

void PrimaryRvg::AbortSpaceWaits() {
  rlinks_->AbortWaits();
  std::lock_guard<std::mutex> lock(mu_);
  if (!srl_full_ && !budget_wait_) return;
  // The leader gives up the part of its batch that is not in the SRL; the
  // writes queued behind it would only wait for the same space. None of
  // them has a seq yet.
  ++space_abort_epoch_;
  space_cv_.notify_all();
  applied_cv_.notify_all();
  while (queue_.size() > leading_) {
    PendingWrite* p = queue_.back();
    p->status = AbandonedWrite();
    p->done = true;
    p->cv.notify_one();
    queue_.pop_back();
  }
  WakeQueueFrontLocked();
}

void PrimaryRvg::BeginClose() {
  rlinks_->Close();
  std::lock_guard<std::mutex> lock(mu_);
  closing_ = true;
  space_cv_.notify_all();
  applied_cv_.notify_all();
}

Status PrimaryRvg::Close() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (closed_) return failure_;
    closing_ = true;
    space_cv_.notify_all();
    rlinks_->Close();
    // Writes already queued complete (their leaders are running, and one
    // that waits for SRL space gives up); new ones are refused above.
    queue_cv_.wait(lock, [&] { return queue_.empty(); });
    // Everything appended is synced (and, by the flusher before it exits,
    // applied) before the last checkpoint.
    (void)WaitSynced(lock, written_seq_);
    closed_ = true;
  }
  flusher_cv_.notify_all();
  checkpoint_cv_.notify_all();
  applied_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  if (checkpointer_.joinable()) checkpointer_.join();
  {
    std::unique_lock<std::mutex> lock(mu_);
    // The flusher exits only with nothing left to sync and apply, or after a
    // failure; ApplySynced covers what it may not have reached.
    if (failure_.ok() && synced_seq_.load() > applied_seq_) ApplySynced(lock);
    if (!failure_.ok()) return failure_;
  }
  RunDcmScans();
  return Checkpoint();
}

uint64_t PrimaryRvg::last_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_seq_;
}

uint64_t PrimaryRvg::srl_tail_seq() const { return srl_->tail_seq(); }

size_t PrimaryRvg::queued_writes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

bool PrimaryRvg::srl_full() const {
  std::lock_guard<std::mutex> lock(mu_);
  return srl_full_;
}

bool PrimaryRvg::waiting_for_room() const {
  if (rlinks_->admission_stalled()) return true;
  std::lock_guard<std::mutex> lock(mu_);
  return srl_full_ || budget_wait_;
}

Result<WriteRecord> PrimaryRvg::GetRecord(uint64_t seq, RecordSource* source) const {
  std::optional<WriteRecord> r = inflight_.Find(seq);
  if (source != nullptr) *source = r ? RecordSource::kMemory : RecordSource::kSrl;
  if (r) return *r;
  return srl_->Read(seq);
}

// The mark of the first write after `seq`, or nullptr when there is none.
// Seqs below the marks (the SRL no longer holds them) start at the oldest.
const PrimaryRvg::SeqMark* PrimaryRvg::MarkAfterLocked(uint64_t seq) const {
  if (seq >= written_seq_ || marks_.empty()) return nullptr;
  const uint64_t next = seq + 1;
  if (next < marks_base_seq_) return &marks_.front();
  const uint64_t idx = next - marks_base_seq_;
  return idx < marks_.size() ? &marks_[idx] : nullptr;
}

uint64_t PrimaryRvg::BytesAfter(uint64_t seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  const SeqMark* mark = MarkAfterLocked(seq);
  return mark != nullptr ? data_total_ - mark->data_before : 0;
}

PrimaryRvg::Backlog PrimaryRvg::BacklogAfter(uint64_t seq,
                                             std::chrono::steady_clock::time_point now) const {
  std::lock_guard<std::mutex> lock(mu_);
  Backlog b;
  b.writes = written_seq_ - std::min(seq, written_seq_);
  const SeqMark* mark = MarkAfterLocked(seq);
  if (mark == nullptr) return b;
  b.data_bytes = data_total_ - mark->data_before;
  b.srl_bytes = srl_total_ - mark->srl_before;
  if (now > mark->written_at) {
    b.seconds = std::chrono::duration<double>(now - mark->written_at).count();
  }
  return b;
}

Status PrimaryRvg::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

}  // namespace rvg
