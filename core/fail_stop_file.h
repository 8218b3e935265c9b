// FailStopFile: a File whose first failed Sync() is final.
//
// Linux reports a writeback error to each open file description once
// (errseq_t): after one fdatasync fails and the kernel marks the pages it
// could not write clean, the next fdatasync on the same descriptor returns
// 0 over the lost data. Two threads that sync the same file (the SRL's
// group commit and its checkpoint; an image's checkpoint and a resync)
// would then disagree, and the one that saw success would acknowledge
// writes that are gone. Wrapping such a file in a FailStopFile makes the
// failure visible to every caller:
//
//   - Sync() calls are serialised, and a Sync() that returns OK had no
//     failed Sync() before or during it;
//   - every Sync() after a failed one returns that failure, for good.
//
// Everything else is passed through unchanged.
#pragma once

#include <memory>
#include <mutex>

#include "core/file_env.h"

namespace rvg {

class FailStopFile final : public File {
 public:
  explicit FailStopFile(std::unique_ptr<File> base) : base_(std::move(base)) {}

  // Wraps `file` when it holds one; passes an error through.
  static Result<std::unique_ptr<File>> Wrap(Result<std::unique_ptr<File>> file);

  using File::ReadAt;
  using File::WriteAt;
  Status ReadAt(uint64_t offset, const iovec* iov, size_t count) const override {
    return base_->ReadAt(offset, iov, count);
  }
  Status WriteAt(uint64_t offset, const iovec* iov, size_t count) override {
    return base_->WriteAt(offset, iov, count);
  }
  Status Sync() override;
  Result<uint64_t> Size() const override { return base_->Size(); }
  Status SetSize(uint64_t size) override { return base_->SetSize(size); }
  Status Allocate(uint64_t size) override { return base_->Allocate(size); }
  const std::string& path() const override { return base_->path(); }
  Status Lock() override { return base_->Lock(); }
  int native_fd() const override { return base_->native_fd(); }

 private:
  const std::unique_ptr<File> base_;
  std::mutex sync_mu_;
  Status sync_failure_;  // guarded by sync_mu_
};

}  // namespace rvg
