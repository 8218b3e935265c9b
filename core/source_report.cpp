#include "core/source_report.h"

namespace rvg {

void SourceReport::Publish(SourceReportEntry entry) {
  std::lock_guard<std::mutex> lock(mu_);
  entry_ = std::move(entry);
}

std::optional<SourceReportEntry> SourceReport::Covering(const std::string& line,
                                                        uint64_t fork_seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!entry_ || entry_->line != line || entry_->fork_seq == 0 || entry_->fork_seq > fork_seq) {
    return std::nullopt;
  }
  return entry_;
}

}  // namespace rvg
