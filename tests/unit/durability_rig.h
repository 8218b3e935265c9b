// DurabilityRig: a primary RVG on a FaultEnv — two small volumes and a
// minimum-size SRL, so the log wraps often — with the WriteModel that judges
// it, and the writer steps the power-cut and fault suites share.
//
// Writers report to the model: a Write() that returned OK is "answered";
// a Flush() that returned OK acknowledges everything answered before it was
// entered; a strict Write() that returned OK acknowledges itself.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/primary_rvg.h"
#include "fault_env.h"
#include "write_model.h"
#include "rlink_fixture.h"

namespace rvg::testing {

// Where one random write goes: 512 B..64 KiB, log-uniform (many small
// writes, some large), anywhere in a volume (so writes overlap), a third of
// them not sector-aligned.
struct WriteRange {
  uint32_t volume;
  uint64_t offset;
  size_t length;
};
WriteRange RandomRange(std::mt19937_64& rng, const std::vector<VolumeSpec>& specs);

class DurabilityRig {
 public:
  DurabilityRig();

  // Creates the images and the SRL (durably) on the env.
  Status Create();

  // Opens the volumes and the SRL on the env and the engine over them; the
  // model records every sequenced write.
  Result<std::unique_ptr<PrimaryRvg>> Open(
      PrimaryOptions options, std::shared_ptr<RlinkSet> rlinks = {},
      CheckpointListener* listener = nullptr);

  // After Open() recovered to `k`: checks the images, read through a fresh
  // VolumeSet (straight from the env's visible state if it froze
  // meanwhile), against the model. "" when they agree.
  std::string Verify(uint64_t k);

  // A write of RandomRange() with tagged data, reported to the model.
  Status WriteRandom(PrimaryRvg& engine, std::mt19937_64& rng, bool strict);
  // Flush(), reported to the model.
  Status FlushAndAck(PrimaryRvg& engine);

  FaultEnv env;
  const std::vector<VolumeSpec> specs;
  const std::string srl_path = "/rvg/srl";
  const std::string uuid = "durability-rig";
  WriteModel model;

 private:
  std::atomic<uint64_t> next_id_{1};  // tags write data; never reused
};

// A CheckpointListener that only counts its calls.
class CountingListener : public CheckpointListener {
 public:
  Status PersistRlinkProgress(const std::vector<RlinkSnapshot>&) override {
    ++calls;
    return Status::Ok();
  }
  std::atomic<int> calls{0};
};

// Engine options with a checkpoint every 10 ms, so the SRL tail moves often.
PrimaryOptions FastCheckpoints();

// Runs `stop` (a Close() or Stop()) on a thread; one that does not return
// within `limit` is an engine defect that would hang the suite: abort with
// `context` on stderr.
Status RunWithin(const std::function<Status()>& stop, std::chrono::seconds limit,
                 const std::string& context);
// RunWithin() of Close(); the engine is gone afterwards.
Status CloseWithin(std::unique_ptr<PrimaryRvg> engine, std::chrono::seconds limit,
                   const std::string& context);

// The suites log nothing below errors: thousands of recoveries otherwise
// bury the failure message. Restores the level when it goes.
class QuietLogs {
 public:
  QuietLogs();
  ~QuietLogs();

 private:
  int saved_level_;
};

// Where a suite's power cuts landed, for its summary line.
struct CutTally {
  int in_recovery = 0;
  int while_running = 0;
  int in_stop = 0;     // the freeze came inside Close()/Stop()
  int after_stop = 0;  // the stop completed before the freeze
  // A cut after the engine ran; `frozen_*`: env.frozen() before and after
  // its Close()/Stop().
  void Count(bool frozen_before_stop, bool frozen_after_stop);
  std::string Describe() const;
};

// How much of the unsynced data a power cut keeps: none one time in ten,
// all one time in ten, else a uniform fraction.
double KeepProbability(std::mt19937_64& rng);

// A seed from `variable` if set, else a random one.
uint64_t SeedFrom(const char* variable);
// A count from `variable` if set, else `fallback`.
int CountFrom(const char* variable, int fallback);

}  // namespace rvg::testing
