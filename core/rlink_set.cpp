#include "core/rlink_set.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace rvg {

namespace {

using Clock = std::chrono::steady_clock;

std::string Seconds(std::chrono::milliseconds ms) {
  char text[32];
  std::snprintf(text, sizeof(text), "%gs", static_cast<double>(ms.count()) / 1000.0);
  return text;
}

}  // namespace

RlinkSet::RlinkSet(const std::vector<RlinkInit>& rlinks) {
  entries_.reserve(rlinks.size());
  for (const RlinkInit& r : rlinks) {
    auto progress = std::make_shared<RlinkProgress>(r.name);
    progress->sent_seq = r.sent_seq;
    progress->net_acked_seq = r.net_acked_seq;
    progress->data_acked_seq = r.data_acked_seq;
    entries_.push_back({progress, RlinkStateMachine(r.policy, r.persisted)});
    if (entries_.back().machine.tracking()) ++tracking_count_;
  }
}

std::optional<size_t> RlinkSet::Find(const std::string& name) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].progress->name == name) return i;
  }
  return std::nullopt;
}

uint64_t RlinkSet::LevelLocked(const Entry& e) const {
  return LevelLocked(e, e.machine.policy().sync_ack);
}

uint64_t RlinkSet::LevelLocked(const Entry& e, SyncAck sync_ack) const {
  return sync_ack == SyncAck::kDurable ? e.progress->data_acked_seq.load()
                                       : e.progress->net_acked_seq.load();
}

uint64_t RlinkSet::BacklogLocked(const Entry& e) const {
  uint64_t acked = e.progress->data_acked_seq.load();
  return newest_ > acked ? newest_ - acked : 0;
}

// Runs one event on an RLINK's machine and logs what it changed, so that
// every change of state, effective mode and protection is in the log with
// the event that caused it.
bool RlinkSet::ChangeLocked(Entry& e, const char* event,
                            const std::function<void(RlinkStateMachine&)>& change) {
  const RlinkState state = e.machine.state();
  const bool sync = e.machine.sync_effective();
  const bool latency = e.machine.latency_protection_active();
  const bool tracking = e.machine.tracking();
  change(e.machine);
  if (e.machine.tracking() != tracking) tracking_count_ += e.machine.tracking() ? 1 : -1;
  const std::string& name = e.progress->name;
  const bool changed = e.machine.state() != state || e.machine.sync_effective() != sync ||
                       e.machine.latency_protection_active() != latency;
  if (!changed) return false;
  if (e.machine.state() != state) {
    spdlog::info("rlink {}: {} -> {} ({})", name, RlinkStateName(state),
                 RlinkStateName(e.machine.state()), event);
  }
  if (e.machine.sync_effective() != sync && e.machine.policy().synchronous != Protection::kOff) {
    spdlog::log(sync ? spdlog::level::warn : spdlog::level::info,
                "rlink {}: now replicating {}synchronously ({})", name, sync ? "a" : "",
                event);
  }
  if (e.machine.latency_protection_active() != latency) {
    spdlog::log(latency ? spdlog::level::info : spdlog::level::warn,
                "rlink {}: latency protection {} ({} writes behind, marks {}/{})", name,
                latency ? "released" : "engaged", BacklogLocked(e),
                e.machine.policy().latency_low_mark, e.machine.policy().latency_high_mark);
  }
  cv_.notify_all();
  return true;
}

Status RlinkSet::AdmitWrite() {
  std::unique_lock<std::mutex> lock(mu_);
  if (entries_.empty()) return Status::Ok();
  const Clock::time_point start = Clock::now();
  const uint64_t epoch = abort_epoch_;
  for (;;) {
    if (closed_) return Status::Error("the RVG is stopping; write refused", EIO);
    if (epoch != abort_epoch_) {
      return Status::Error("the write was held back by an RLINK's protection and abandoned by "
                           "rvgadm stop; it was not done",
                           EIO);
    }
    const Clock::time_point now = Clock::now();
    Clock::time_point wake = now + std::chrono::seconds(1);
    bool wait = false;
    for (Entry& e : entries_) {
      const RlinkPolicy& policy = e.machine.policy();
      const Clock::time_point grace_end = start + policy.ack_timeout;
      const uint64_t backlog = BacklogLocked(e);
      RlinkStateMachine::Verdict verdict = RlinkStateMachine::Verdict::kGo;
      ChangeLocked(e, "a new write", [&](RlinkStateMachine& m) {
        verdict = m.AdmitWrite(backlog, now >= grace_end);
      });
      if (verdict == RlinkStateMachine::Verdict::kFail) {
        const std::string& name = e.progress->name;
        if (policy.synchronous == Protection::kFail && !e.machine.active()) {
          return Status::Error(std::string("write refused: RLINK ") + name + " is " +
                                   RlinkStateName(e.machine.state()) +
                                   " and synchronous=fail (the primary may not run ahead of it)",
                               EIO);
        }
        return Status::Error("write refused: RLINK " + name + " (" +
                                 RlinkStateName(e.machine.state()) + ") has " +
                                 std::to_string(backlog) + " writes waiting, latency_high_mark=" +
                                 std::to_string(policy.latency_high_mark) +
                                 " and latencyprot=fail",
                             EIO);
      }
      if (verdict == RlinkStateMachine::Verdict::kWait) {
        wait = true;
        if (!e.machine.session_up()) wake = std::min(wake, grace_end);
      }
    }
    if (!wait) return Status::Ok();
    ++stalled_;
    cv_.wait_until(lock, wake);
    --stalled_;
  }
}

void RlinkSet::Sequenced(uint64_t newest) {
  std::lock_guard<std::mutex> lock(mu_);
  newest_ = std::max(newest_, newest);
}

Status RlinkSet::WaitForSyncAcks(uint64_t seq) {
  std::unique_lock<std::mutex> lock(mu_);
  const Clock::time_point start = Clock::now();
  for (;;) {
    if (closed_) {
      return Status::Error("the RVG stopped before the synchronous secondaries acknowledged", EIO);
    }
    const Clock::time_point now = Clock::now();
    Clock::time_point wake = now + std::chrono::seconds(1);
    bool wait = false;
    for (Entry& e : entries_) {
      const RlinkPolicy& policy = e.machine.policy();
      if (policy.synchronous == Protection::kOff) continue;
      const Clock::time_point deadline = start + policy.ack_timeout;
      const uint64_t level = LevelLocked(e);
      RlinkStateMachine::Verdict verdict = RlinkStateMachine::Verdict::kGo;
      const char* event = now >= deadline ? "ack_timeout passed" : "a synchronous write";
      ChangeLocked(e, event, [&](RlinkStateMachine& m) {
        verdict = m.AwaitAck(seq, level, now >= deadline, newest_);
      });
      if (verdict == RlinkStateMachine::Verdict::kFail) {
        const std::string& name = e.progress->name;
        if (!e.machine.active()) {
          return Status::Error(std::string("RLINK ") + name + " is " +
                                   RlinkStateName(e.machine.state()) +
                                   " and synchronous=fail: seq " + std::to_string(seq) +
                                   " is not acknowledged by it",
                               EIO);
        }
        return Status::Error("RLINK " + name + " did not acknowledge seq " + std::to_string(seq) +
                                 " (" + SyncAckName(policy.sync_ack) + ") within ack_timeout=" +
                                 Seconds(policy.ack_timeout) + " and synchronous=fail",
                             EIO);
      }
      if (verdict == RlinkStateMachine::Verdict::kWait) {
        wait = true;
        wake = std::min(wake, deadline);
      }
    }
    if (!wait) return Status::Ok();
    cv_.wait_until(lock, wake);
  }
}

void RlinkSet::AbortWaits() {
  std::lock_guard<std::mutex> lock(mu_);
  ++abort_epoch_;
  cv_.notify_all();
}

void RlinkSet::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

bool RlinkSet::admission_stalled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stalled_ > 0;
}

uint64_t RlinkSet::HighestKnownSeq() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t highest = 0;
  for (const Entry& e : entries_) {
    highest = std::max({highest, e.progress->sent_seq.load(), e.progress->net_acked_seq.load(),
                        e.progress->data_acked_seq.load()});
  }
  return highest;
}

bool RlinkSet::SessionUp(size_t i, uint64_t applied_seq) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_[i];
  // The secondary holds everything up to its resume point (in memory at
  // least): a network ack. Its data ack comes with its ACKs.
  RlinkProgress::Raise(e.progress->net_acked_seq, applied_seq);
  bool accepted = false;
  const uint64_t level = LevelLocked(e);
  ChangeLocked(e, "session up", [&](RlinkStateMachine& m) {
    accepted = m.SessionUp(level, newest_);
  });
  return accepted;
}

void RlinkSet::SessionDown(size_t i) {
  std::lock_guard<std::mutex> lock(mu_);
  ChangeLocked(entries_[i], "session down", [](RlinkStateMachine& m) { m.SessionDown(); });
}

void RlinkSet::Acked(size_t i, uint64_t net_acked_seq, uint64_t data_acked_seq) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_[i];
  RlinkProgress::Raise(e.progress->net_acked_seq, net_acked_seq);
  RlinkProgress::Raise(e.progress->data_acked_seq, data_acked_seq);
  const uint64_t level = LevelLocked(e);
  const uint64_t backlog = BacklogLocked(e);
  ChangeLocked(e, "caught up", [&](RlinkStateMachine& m) { m.Acked(level, backlog, newest_); });
  // Waiters for synchronous acks compare levels themselves.
  cv_.notify_all();
}

void RlinkSet::MarkFailed(size_t i) {
  std::lock_guard<std::mutex> lock(mu_);
  ChangeLocked(entries_[i], "replication failed", [](RlinkStateMachine& m) { m.MarkFailed(); });
}

void RlinkSet::MarkStale(size_t i, const char* why) {
  std::lock_guard<std::mutex> lock(mu_);
  ChangeLocked(entries_[i], why, [](RlinkStateMachine& m) { m.MarkStale(); });
}

bool RlinkSet::MaySend(size_t i) const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_[i].machine.may_send();
}

RlinkState RlinkSet::state(size_t i) const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_[i].machine.state();
}

bool RlinkSet::DataAckAwaited(size_t i) const {
  std::lock_guard<std::mutex> lock(mu_);
  const RlinkStateMachine& m = entries_[i].machine;
  return m.sync_effective() && m.policy().sync_ack == SyncAck::kDurable;
}

Status RlinkSet::Pause(size_t i) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_[i];
  bool done = false;
  ChangeLocked(e, "rvgadm pauserep", [&](RlinkStateMachine& m) { done = m.Pause(newest_); });
  if (done) return Status::Ok();
  return Status::Error("RLINK " + e.progress->name + " is " + RlinkStateName(e.machine.state()) +
                       (e.machine.state() == RlinkState::kPaused
                            ? " already"
                            : "; a stale RLINK needs rvgadm startrep --full, not a pause"));
}

Status RlinkSet::Resume(size_t i) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_[i];
  bool done = false;
  const uint64_t level = LevelLocked(e);
  ChangeLocked(e, "rvgadm resumerep", [&](RlinkStateMachine& m) { done = m.Resume(level); });
  if (done) return Status::Ok();
  return Status::Error("RLINK " + e.progress->name + " is " + RlinkStateName(e.machine.state()) +
                       ", not paused; nothing to resume");
}

void RlinkSet::SetPolicy(size_t i, const RlinkPolicy& policy) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_[i];
  // The level at the new sync_ack: under the old one, a change to durable
  // would count network acks as caught up.
  const uint64_t level = LevelLocked(e, policy.sync_ack);
  const uint64_t backlog = BacklogLocked(e);
  ChangeLocked(e, "rvgadm set", [&](RlinkStateMachine& m) {
    m.SetPolicy(policy, level, backlog, newest_);
  });
  // New marks or timeouts change what every waiter waits for.
  cv_.notify_all();
}

RlinkSnapshot RlinkSet::SnapshotLocked(const Entry& e) const {
  RlinkSnapshot s;
  s.name = e.progress->name;
  s.state = e.machine.state();
  s.persistent = e.machine.persistent_state();
  s.policy = e.machine.policy();
  s.sync_effective = e.machine.sync_effective();
  s.latency_protection = e.machine.latency_protection_active();
  s.sent_seq = e.progress->sent_seq.load();
  s.net_acked_seq = e.progress->net_acked_seq.load();
  s.data_acked_seq = e.progress->data_acked_seq.load();
  s.needed_seq = e.machine.needed_seq(s.data_acked_seq);
  return s;
}

bool RlinkSet::Tracking(size_t i) const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_[i].machine.tracking();
}

std::optional<uint64_t> RlinkSet::NeededSeq(size_t i) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Entry& e = entries_[i];
  return e.machine.needed_seq(e.progress->data_acked_seq.load());
}

bool RlinkSet::EnterDcm(size_t i, const char* why) {
  std::lock_guard<std::mutex> lock(mu_);
  bool done = false;
  ChangeLocked(entries_[i], why, [&](RlinkStateMachine& m) { done = m.EnterDcm(); });
  return done;
}

bool RlinkSet::StartFullSync(size_t i) {
  std::lock_guard<std::mutex> lock(mu_);
  bool done = false;
  ChangeLocked(entries_[i], "full sync (rvgadm startrep/resync --full)",
               [&](RlinkStateMachine& m) { done = m.StartFullSync(); });
  return done;
}

bool RlinkSet::BeginResync(size_t i, uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  bool done = false;
  ChangeLocked(entries_[i], "bitmap resync begins",
               [&](RlinkStateMachine& m) { done = m.BeginResync(seq); });
  return done;
}

bool RlinkSet::ResyncDone(size_t i, uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_[i];
  bool done = false;
  ChangeLocked(e, "bitmap resync complete", [&](RlinkStateMachine& m) { done = m.ResyncDone(newest_); });
  // The resync's end is the secondary's data ack of everything up to its
  // seq — of this resync only, never a seq the primary did not write.
  if (done && seq <= newest_) {
    RlinkProgress::Raise(e.progress->net_acked_seq, seq);
    RlinkProgress::Raise(e.progress->data_acked_seq, seq);
  }
  cv_.notify_all();
  return done;
}

std::optional<uint64_t> RlinkSet::ResyncSeq(size_t i) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Entry& e = entries_[i];
  if (!e.machine.resyncing()) return std::nullopt;
  return e.machine.needed_seq(0).value_or(1) - 1;
}

bool RlinkSet::SessionIsUp(size_t i) const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_[i].machine.session_up();
}

std::vector<RlinkSnapshot> RlinkSet::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RlinkSnapshot> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(SnapshotLocked(e));
  return out;
}

RlinkPolicy RlinkSet::policy(size_t i) const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_[i].machine.policy();
}

}  // namespace rvg
