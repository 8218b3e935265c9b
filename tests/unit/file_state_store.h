// FileStateStore: a secondary's AppliedSeqStore in a file of a FaultEnv, for
// the power-cut suites. applied_seq and the consistency flag share one
// sector, written and fdatasynced together: atomic and durable as an
// SQLite commit, and subject to the freeze and the cut like every other
// file.
#pragma once

#include <memory>

#include "core/file_env.h"
#include "core/secondary_applier.h"

namespace rvg::testing {

class FileStateStore : public AppliedSeqStore {
 public:
  static constexpr const char* kPath = "/rvg/applied_seq";

  // A new store: applied_seq 0, consistent; durable when it returns OK.
  static Status Create(FileEnv* env) {
    auto file = env->Create(kPath);
    if (!file.ok()) return file.status();
    FileStateStore store(std::move(*file));
    Status st = store.Write(0, true);
    return st.ok() ? env->SyncDirOf(kPath) : st;
  }
  static Result<std::unique_ptr<FileStateStore>> Open(FileEnv* env) {
    auto file = env->Open(kPath);
    if (!file.ok()) return file.status();
    return std::unique_ptr<FileStateStore>(new FileStateStore(std::move(*file)));
  }

  Status SaveAppliedSeq(uint64_t applied_seq) override {
    Result<bool> consistent = LoadConsistency();
    return consistent.ok() ? Write(applied_seq, *consistent) : consistent.status();
  }
  Result<uint64_t> LoadAppliedSeq() override {
    uint64_t fields[2];
    Status st = file_->ReadAt(0, fields, sizeof(fields));
    if (!st.ok()) return st;
    return fields[0];
  }
  Status SaveConsistency(bool consistent) override {
    Result<uint64_t> seq = LoadAppliedSeq();
    return seq.ok() ? Write(*seq, consistent) : seq.status();
  }
  Result<bool> LoadConsistency() override {
    uint64_t fields[2];
    Status st = file_->ReadAt(0, fields, sizeof(fields));
    if (!st.ok()) return st;
    return fields[1] != 0;
  }

 private:
  explicit FileStateStore(std::unique_ptr<File> file) : file_(std::move(file)) {}
  Status Write(uint64_t applied_seq, bool consistent) {
    const uint64_t fields[2] = {applied_seq, consistent ? 1u : 0u};
    Status st = file_->WriteAt(0, fields, sizeof(fields));
    return st.ok() ? file_->Sync() : st;
  }
  std::unique_ptr<File> file_;
};

}  // namespace rvg::testing
