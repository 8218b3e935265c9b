// GenerationRotator: the write pipeline's hook for the generation rotation
// at a session loss (doc/failover.md, "Generations").
//
// A primary that takes a write while a secondary which has seen its
// current generation has no session begins a new generation at that
// write's seq, durably, before the seq is handed out. Then, should that
// secondary have taken over meanwhile, the two histories show a split
// brain instead of this primary's writes merely looking like lost ones
// that a fast failback may roll back. What "has seen" and "has no session"
// mean, and where the generation is persisted, is the implementation's
// business (rvgd's SessionLossRotation); the engine only asks at the right
// moment.
#pragma once

#include <cstdint>

#include "core/status.h"

namespace rvg {

class GenerationRotator {
 public:
  virtual ~GenerationRotator() = default;
  // Whether the next seq handed out must begin a new generation. Called by
  // the write leader once per batch, with the engine's lock held: cheap,
  // and it must not call back into the engine.
  virtual bool RotationDue() = 0;
  // Begins a generation whose first seq is `start_seq`, durably. Called
  // right after RotationDue() said so, with the engine's lock held, before
  // any write gets `start_seq`. On an error no seq is handed out: the
  // batch's writes fail with it and the next batch asks again.
  virtual Status Rotate(uint64_t start_seq) = 0;
};

}  // namespace rvg
