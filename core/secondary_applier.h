// SecondaryApplier: the secondary's engine. Writes arrive in any order
// (Offer), are held in a ReorderBuffer, and a background thread applies them
// to the images strictly in seq order, fdatasyncs the images once per batch,
// persists applied_seq and only then reports it as the data-ack point.
//
// Invariant: the images always hold exactly the writes 1..k of the primary
// for some k (a crash-consistent prefix), because a record is written only
// after every earlier seq was written, and applied_seq() never claims more
// than what is synced and persisted.
//
// Thread-safe: Offer() and the getters are called by the receiver thread,
// the apply loop runs on its own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "core/record.h"
#include "core/reorder_buffer.h"
#include "core/status.h"
#include "core/volume_set.h"

namespace rvg {

// Where applied_seq is persisted (SQLite on a real secondary).
class AppliedSeqStore {
 public:
  virtual ~AppliedSeqStore() = default;
  virtual Status SaveAppliedSeq(uint64_t applied_seq) = 0;
};

class SecondaryApplier {
 public:
  // `applied_seq` is the persisted value; `on_applied` runs on the apply
  // thread whenever applied_seq() advances (it should just wake someone).
  SecondaryApplier(VolumeSet* volumes, AppliedSeqStore* store, uint64_t applied_seq,
                   std::function<void()> on_applied);
  ~SecondaryApplier();

  void Start();
  // Applies what is ready, syncs, persists, and stops the thread.
  Status Stop();

  // Takes a record that passed message validation.
  ReorderBuffer::Offer Offer(WriteRecord record);

  uint64_t received_seq() const;  // every seq up to it is in memory or applied
  uint64_t applied_seq() const { return applied_seq_.load(); }
  std::optional<std::pair<uint64_t, uint64_t>> FirstGap() const;
  uint64_t held_bytes() const;
  Status health() const;

 private:
  void ApplyLoop();
  Status SyncAndPersist(uint64_t seq);

  VolumeSet* const volumes_;
  AppliedSeqStore* const store_;
  const std::function<void()> on_applied_;

  mutable std::mutex mu_;
  std::condition_variable ready_cv_;
  ReorderBuffer reorder_;
  bool stopping_ = false;
  Status failure_;
  std::atomic<uint64_t> applied_seq_;
  std::thread thread_;
};

}  // namespace rvg
