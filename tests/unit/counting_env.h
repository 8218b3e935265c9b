// CountingEnv: a FileEnv that passes everything to another one (the real
// file system, or a FaultEnv) and counts, per file, the WriteAt() calls
// (with the iovecs of each) and the Sync() calls. Tests use it to prove how
// many system calls a path makes: adjacent records in one pwritev, no
// fdatasync for an idle checkpoint, one SRL sync per group.
//
// Thread-safe. Counts are kept by the path a file was opened or created
// with, and survive the File.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/file_env.h"

namespace rvg::testing {

class CountingEnv : public FileEnv {
 public:
  struct Counts {
    std::vector<size_t> writes;  // one entry per WriteAt: its iovec count
    size_t syncs = 0;
  };

  explicit CountingEnv(FileEnv* base = FileEnv::Posix()) : base_(base) {}

  Result<std::unique_ptr<File>> Open(const std::string& path) override {
    return Wrap(base_->Open(path));
  }
  Result<std::unique_ptr<File>> Create(const std::string& path) override {
    return Wrap(base_->Create(path));
  }
  Result<FileInfo> Stat(const std::string& path) override { return base_->Stat(path); }
  Status Remove(const std::string& path) override { return base_->Remove(path); }
  Status SyncDirOf(const std::string& path) override { return base_->SyncDirOf(path); }

  // What was done so far to files whose path contains `part`, summed.
  Counts Of(const std::string& part) const {
    std::lock_guard<std::mutex> lock(mu_);
    Counts sum;
    for (const auto& [path, c] : counts_) {
      if (path.find(part) == std::string::npos) continue;
      sum.writes.insert(sum.writes.end(), c.writes.begin(), c.writes.end());
      sum.syncs += c.syncs;
    }
    return sum;
  }
  size_t Syncs(const std::string& part) const { return Of(part).syncs; }
  size_t Writes(const std::string& part) const { return Of(part).writes.size(); }
  void Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    counts_.clear();
  }
  // Runs inside every Sync(), before the real one, with the file's path:
  // a test's way to make something happen while a sync is under way.
  // Set it before the files are used.
  std::function<void(const std::string&)> during_sync;

 private:
  class CountingFile : public File {
   public:
    CountingFile(CountingEnv* env, std::unique_ptr<File> base)
        : env_(env), base_(std::move(base)) {}
    Status ReadAt(uint64_t offset, const iovec* iov, size_t count) const override {
      return base_->ReadAt(offset, iov, count);
    }
    Status WriteAt(uint64_t offset, const iovec* iov, size_t count) override {
      env_->Count(path(), [count](Counts& c) { c.writes.push_back(count); });
      return base_->WriteAt(offset, iov, count);
    }
    Status Sync() override {
      env_->Count(path(), [](Counts& c) { ++c.syncs; });
      if (env_->during_sync) env_->during_sync(path());
      return base_->Sync();
    }
    Result<uint64_t> Size() const override { return base_->Size(); }
    Status SetSize(uint64_t size) override { return base_->SetSize(size); }
    Status Allocate(uint64_t size) override { return base_->Allocate(size); }
    const std::string& path() const override { return base_->path(); }
    Status Lock() override { return base_->Lock(); }
    int native_fd() const override { return base_->native_fd(); }

   private:
    CountingEnv* const env_;
    const std::unique_ptr<File> base_;
  };

  Result<std::unique_ptr<File>> Wrap(Result<std::unique_ptr<File>> file) {
    if (!file.ok()) return file.status();
    return std::unique_ptr<File>(new CountingFile(this, std::move(*file)));
  }
  template <typename Fn>
  void Count(const std::string& path, Fn fn) {
    std::lock_guard<std::mutex> lock(mu_);
    fn(counts_[path]);
  }

  FileEnv* const base_;
  mutable std::mutex mu_;
  std::map<std::string, Counts> counts_;
};

}  // namespace rvg::testing
