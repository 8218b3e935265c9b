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
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/primary_rvg.h"
#include "fault_env.h"
#include "write_model.h"

namespace rvg::testing {

class DurabilityRig {
 public:
  DurabilityRig();

  // Creates the images and the SRL (durably) on the env.
  Status Create();

  // Opens the volumes and the SRL on the env and the engine over them; the
  // model records every sequenced write.
  Result<std::unique_ptr<PrimaryRvg>> Open(
      PrimaryOptions options, std::vector<std::shared_ptr<RlinkProgress>> rlinks = {});

  // After Open() recovered to `k`: checks the images, read through a fresh
  // VolumeSet (straight from the env's visible state if it froze
  // meanwhile), against the model. "" when they agree.
  std::string Verify(uint64_t k);

  // One random write (512 B..64 KiB, overlapping, a third unaligned),
  // reported to the model.
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

// Close() on a thread; a Close() that does not return within `limit` is an
// engine defect that would hang the suite: abort with `context` on stderr.
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

// A seed from `variable` if set, else a random one.
uint64_t SeedFrom(const char* variable);
// A count from `variable` if set, else `fallback`.
int CountFrom(const char* variable, int fallback);

}  // namespace rvg::testing
