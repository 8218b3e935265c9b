#include "core/fail_stop_file.h"

namespace rvg {

Result<std::unique_ptr<File>> FailStopFile::Wrap(Result<std::unique_ptr<File>> file) {
  if (!file.ok()) return file;
  return std::unique_ptr<File>(std::make_unique<FailStopFile>(std::move(*file)));
}

Status FailStopFile::Sync() {
  // Held across the fdatasync: a failure another caller's sync meets while
  // this one waits is reported to this one too.
  std::lock_guard<std::mutex> lock(sync_mu_);
  if (!sync_failure_.ok()) return sync_failure_;
  Status st = base_->Sync();
  if (!st.ok()) sync_failure_ = st;
  return st;
}

}  // namespace rvg
