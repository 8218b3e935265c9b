#include "core/generation_line.h"

#include <cassert>

namespace rvg {

GenerationLine::GenerationLine(GenerationHistory history) : history_(std::move(history)) {
  assert(!history_.empty());
}

GenerationHistory GenerationLine::history() const {
  std::lock_guard<std::mutex> lock(mu_);
  return history_;
}

std::string GenerationLine::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return history_.back().uuid;
}

bool GenerationLine::IsCurrent(const std::string& uuid, uint64_t* version) const {
  std::lock_guard<std::mutex> lock(mu_);
  *version = version_.load(std::memory_order_acquire);
  return history_.back().uuid == uuid;
}

void GenerationLine::Extend(const Generation& next) {
  std::lock_guard<std::mutex> lock(mu_);
  assert(next.parent == history_.back().uuid);
  history_.push_back(next);
  version_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace rvg
