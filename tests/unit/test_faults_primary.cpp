// I/O errors under the primary, over the FaultEnv: an EIO or ENOSPC from a
// write or an fdatasync of the SRL or of an image makes the engine fail for
// good (with that error), Close() still returns, and a restart on the same
// disk — where a failed fdatasync has dropped the unsynced pages, as Linux
// does — loses nothing that a Flush() acknowledged. And a record damaged
// below the checkpoint's synced seq stops Open() with a message that names
// it.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>

#include "core/srl_format.h"
#include "durability_rig.h"
#include "engine_fixture.h"
#include "rlink_fixture.h"

using namespace rvg;
using namespace rvg::testing;

namespace {

constexpr auto kCloseLimit = std::chrono::seconds(30);

// Opens the engine on the rig and checks that it recovered to the model.
std::unique_ptr<PrimaryRvg> OpenAndVerify(DurabilityRig& rig) {
  auto engine = rig.Open(FastCheckpoints());
  INFO(engine.status().ToString());
  REQUIRE(engine.ok());
  std::string problems = rig.Verify((*engine)->last_seq());
  INFO(problems);
  REQUIRE(problems.empty());
  return std::move(*engine);
}

const char* OpName(FaultOp op) { return op == FaultOp::kSync ? "fdatasync" : "write"; }

}  // namespace

TEST_CASE("an I/O error on the SRL or an image fails the engine for good and loses nothing "
          "flushed",
          "[faults]") {
  struct Target {
    const char* name;
    const char* path_substring;
  };
  const Target target = GENERATE(Target{"SRL", "/srl"}, Target{"image", "alpha.img"});
  const FaultOp op = GENERATE(FaultOp::kWriteAt, FaultOp::kSync);
  const int error = GENERATE(EIO, ENOSPC);
  // A fault that strikes once is the harder case: a retry would succeed,
  // over the pages the failed fdatasync dropped.
  const bool sticky = GENERATE(true, false);
  const bool cut_before_restart = GENERATE(false, true);
  INFO(OpName(op) << " of the " << target.name << " fails with " << std::strerror(error)
                  << (sticky ? " from then on" : " once")
                  << (cut_before_restart ? ", then the power fails" : ""));
  QuietLogs quiet;
  DurabilityRig rig;
  REQUIRE(rig.Create().ok());
  std::mt19937_64 rng(static_cast<uint64_t>(error) * 31 + static_cast<uint64_t>(op));

  auto engine = OpenAndVerify(rig);
  for (int i = 0; i < 20; ++i) REQUIRE(rig.WriteRandom(*engine, rng, false).ok());
  REQUIRE(rig.FlushAndAck(*engine).ok());
  const uint64_t flushed = rig.model.acknowledged();
  REQUIRE(flushed == engine->last_seq());

  // The fault lets a few operations through so that it strikes mid-stream.
  rig.env.InjectError(Fault{op, target.path_substring, error, 3, sticky});
  bool stopped = WaitFor(
      [&] {
        if (!rig.WriteRandom(*engine, rng, false).ok()) return true;
        return rng() % 4 == 0 && !rig.FlushAndAck(*engine).ok();
      },
      std::chrono::seconds(5));
  // The engine's failure is sticky, whatever the disk does next, and keeps
  // its code: ENOSPC stays ENOSPC. An engine that carried on is checked
  // below for what that cost.
  CHECK(stopped);
  Status health = engine->health();
  INFO("health: " << health.ToString());
  CHECK(health.code() == error);
  const auto data = Pattern(1, 4096);
  Status write = engine->Write(1, 0, data.data(), data.size(), false);
  CHECK(write.code() == error);
  CHECK(engine->Flush().code() == error);
  Status closed = CloseWithin(std::move(engine), kCloseLimit, "Close() after a fault");
  CHECK(closed.code() == error);

  // Restart on the same disk, the fault repaired — straight away, or after
  // the power went too: nothing flushed is lost and the images are the
  // replay of what the SRL kept.
  rig.env.ClearFaults();
  if (cut_before_restart) rig.env.PowerCut(rng(), 0.5);
  engine = OpenAndVerify(rig);
  CHECK(engine->last_seq() >= flushed);
  REQUIRE(engine->health().ok());
  for (int i = 0; i < 10; ++i) REQUIRE(rig.WriteRandom(*engine, rng, false).ok());
  REQUIRE(rig.FlushAndAck(*engine).ok());
  REQUIRE(CloseWithin(std::move(engine), kCloseLimit, "Close() after the repair").ok());
  engine = OpenAndVerify(rig);
  REQUIRE(CloseWithin(std::move(engine), kCloseLimit, "final Close()").ok());
}

TEST_CASE("a record damaged below the checkpoint's synced seq stops Open, naming the record",
          "[faults]") {
  QuietLogs quiet;
  DurabilityRig rig;
  REQUIRE(rig.Create().ok());
  // An RLINK that never acks pins the tail at seq 1, so the records stay in
  // the scan while the final checkpoint records them as synced.
  auto pin = OneRlink("pin");
  auto engine = rig.Open(FastCheckpoints(), pin);
  REQUIRE(engine.ok());
  constexpr uint32_t kLength = 4096;
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    const auto data = Pattern(seq, kLength);
    REQUIRE((*engine)->Write(1, seq * kLength, data.data(), data.size(), false).ok());
  }
  REQUIRE((*engine)->Flush().ok());
  REQUIRE(CloseWithin(std::move(*engine), kCloseLimit, "Close()").ok());

  // Equal records from the start of the data area: seq s sits at
  // kDataStart + (s - 1) * RecordBytes(kLength). Damage seq 5's data.
  const uint64_t record_offset = srl_format::kDataStart + 4 * Srl::RecordBytes(kLength);
  rig.env.Corrupt(rig.srl_path, record_offset + srl_format::kHeaderBytes + 100, 0x01);

  // The refused start changes nothing: no checkpoint is written over the
  // evidence and no RLINK progress is persisted.
  const std::vector<uint8_t> srl_before = rig.env.Contents(rig.srl_path);
  CountingListener listener;
  auto reopened = rig.Open(FastCheckpoints(), pin, &listener);
  REQUIRE_FALSE(reopened.ok());
  const std::string message = reopened.status().message();
  INFO(message);
  CHECK(message.find("record seq 5 at file offset " + std::to_string(record_offset)) !=
        std::string::npos);
  CHECK(listener.calls == 0);
  CHECK(rig.env.Contents(rig.srl_path) == srl_before);
}
