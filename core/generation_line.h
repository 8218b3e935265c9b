// GenerationLine: the generation history a running primary writes under,
// shared by the threads that announce it (senders, the listener) and the
// ones that begin a new generation (force-online; later the rotation at a
// session loss).
//
// Invariant: history() is never empty and only grows at its end; every
// Extend() bumps version(). A sender holds a session under the history it
// announced in that session's HELLO, and ends the session when version()
// moved: a peer must learn of a new generation from a new handshake, never
// by receiving writes tagged with one it was not told about. Extend() is
// called only after the new entry is durable in state.db, and before the
// first write of the generation is admitted, so a sender that sees seq s
// synced also sees the generation that s belongs to.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "core/generation_history.h"

namespace rvg {

class GenerationLine {
 public:
  // `history` must not be empty.
  explicit GenerationLine(GenerationHistory history);

  GenerationHistory history() const;
  // The current generation's uuid.
  std::string current() const;
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  // Whether `uuid` is the current generation; `*version` gets the version
  // the answer holds for (read together, under the lock).
  bool IsCurrent(const std::string& uuid, uint64_t* version) const;
  // Appends `next` (its parent the current generation) as the current one.
  void Extend(const Generation& next);

 private:
  mutable std::mutex mu_;
  GenerationHistory history_;  // guarded by mu_
  std::atomic<uint64_t> version_{0};
};

}  // namespace rvg
