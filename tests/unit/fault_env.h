// FaultEnv: an in-memory FileEnv that enforces the durability model stated
// in core/file_env.h, simulates power cuts and injects I/O errors (after
// LevelDB's FaultInjectionTestEnv). Every durability claim of the engine is
// tested over it.
//
// MODEL
//
// Each file (an "inode") has a *visible* state, what reads see, and a
// *durable* state, what survives a power cut, plus the list of operations
// done since its last successful Sync(), in order ("pending"). Invariant:
// visible == durable with every pending operation applied in order.
//   - WriteAt/SetSize/Allocate change the visible state and join pending.
//   - Sync() makes the file's pending operations durable (durable = visible).
//     A failed Sync() (injected) DROPS them, from the visible state too, as
//     Linux does when it marks the pages clean after a writeback error: a
//     retried Sync() then "succeeds" while the data is gone.
//   - Names live in two namespaces, visible and durable. Create() and
//     Remove() change the visible one; SyncDirOf(path) copies the visible
//     entries of that directory into the durable one.
//
// POWER CUT
//
// PowerCut(seed, p) keeps, for every file in the durable namespace, a random
// part of its pending operations: each (write, 512-byte sector) pair reaches
// the disk independently with probability p, and each size change does too.
// A sector that reaches the disk carries the page-cache contents as of that
// write, so a sector ends up in a state that some prefix of its writes
// produced (what kernel writeback and a disk cache allow: writes torn at
// sector boundaries and reordered, sectors themselves atomic). Then visible
// = durable everywhere, names not dir-synced vanish (and unsynced removals
// come back), and every File opened before the cut refuses all further I/O
// with EIO ("power is off"), so engine threads still running from before
// the cut cannot change the "disk".
//
// FREEZE
//
// CutAfterOps(n) lets the next n mutating operations (WriteAt, Sync,
// SetSize, Allocate, SyncDirOf, Create, Remove) through; from then on the
// env is frozen: every operation, reads included, fails with EIO and changes
// nothing, until PowerCut() is applied to the state at the freeze. That is
// how a test cuts the power at a random point while engine threads run.
//
// LOCKS
//
// File::Lock() is exclusive per open File, as flock is per open file
// description: a second File on the same inode cannot take it while the
// first is open. A power cut ends the processes that held locks, so a lock
// taken before the cut no longer counts.
//
// Thread-safe: one mutex guards everything. The env must outlive its Files.
#pragma once

#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/file_env.h"

namespace rvg::testing {

enum class FaultOp { kWriteAt, kSync, kSetSize, kAllocate, kRead };

// An injected error: the matching operations (same op, on a file whose path
// contains `path_substring`) succeed `after` times, then fail with `error`:
// every time from then on if `sticky`, else once.
// On failure: WriteAt writes nothing; Sync drops the pending operations;
// SetSize/Allocate change nothing; Read returns nothing.
struct Fault {
  FaultOp op = FaultOp::kWriteAt;
  std::string path_substring;
  int error = EIO;
  uint64_t after = 0;
  bool sticky = true;
};

class FaultEnv : public FileEnv {
 public:
  FaultEnv();
  ~FaultEnv() override;
  FaultEnv(const FaultEnv&) = delete;
  FaultEnv& operator=(const FaultEnv&) = delete;

  // FileEnv. Directories are implicit: any path can be created.
  Result<std::unique_ptr<File>> Open(const std::string& path) override;
  Result<std::unique_ptr<File>> Create(const std::string& path) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Status Remove(const std::string& path) override;
  Status SyncDirOf(const std::string& path) override;

  // The machine dies and comes back (see the header comment). Deterministic
  // for a given state and seed. Unfreezes and disarms CutAfterOps.
  void PowerCut(uint64_t seed, double keep_probability);

  // Freezes the env after `n` more mutating operations (0: now).
  void CutAfterOps(uint64_t n);
  bool frozen() const;

  void InjectError(const Fault& fault);
  void ClearFaults();

  // A stalled disk: WriteAt on files whose path contains `path_substring`
  // blocks (other operations go on) until ResumeWrites().
  void StallWrites(const std::string& path_substring);
  void ResumeWrites();

  // Test helpers, by name in the visible namespace. They bypass faults and
  // the freeze and do not count as operations.
  std::vector<uint8_t> Contents(const std::string& path) const;  // empty if absent
  bool Exists(const std::string& path) const;
  // XORs `mask` into the byte at `offset`, durably and visibly: damage done
  // to data already on the disk. Use it on synced data (a pending write that
  // covers the byte would overwrite the damage when it is synced).
  void Corrupt(const std::string& path, uint64_t offset, uint8_t mask);
  // Mutating operations attempted so far (counted even when they fail).
  uint64_t mutating_ops() const;

 private:
  class FaultFile;
  struct Inode;
  using Names = std::map<std::string, std::shared_ptr<Inode>>;

  // Called with mu_ held by every operation. Counts it when `mutating` and
  // applies the freeze and the power state of `epoch` (the caller's, or the
  // current one for env calls): an error when the operation must fail.
  Status Admit(bool mutating, uint64_t epoch, const std::string& what);
  // The injected error for `op` on `path`, OK if none fires now.
  Status InjectedError(FaultOp op, const std::string& path, const std::string& what);

  Status WriteAt(FaultFile* file, uint64_t offset, const iovec* iov, size_t count);
  Status ReadAt(const FaultFile* file, uint64_t offset, const iovec* iov, size_t count);
  Status Sync(FaultFile* file);
  Result<uint64_t> Size(const FaultFile* file);
  Status Resize(FaultFile* file, uint64_t size, bool allocate);
  Status Lock(FaultFile* file);
  void Unlock(FaultFile* file);

  mutable std::mutex mu_;
  std::condition_variable stall_cv_;
  std::string stalled_;  // StallWrites() substring; empty: none
  Names visible_names_;
  Names durable_names_;
  std::vector<Fault> faults_;
  std::vector<uint64_t> fault_hits_;  // parallel to faults_: matching ops seen
  uint64_t epoch_ = 0;                // bumped by PowerCut; Files carry theirs
  uint64_t mutating_ops_ = 0;
  bool cut_armed_ = false;
  uint64_t ops_before_freeze_ = 0;    // while cut_armed_
  bool frozen_ = false;
};

}  // namespace rvg::testing
