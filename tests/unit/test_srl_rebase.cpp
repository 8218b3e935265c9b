// Srl::Rebase: an empty log jumps to a later seq (a secondary after a
// bitmap resync), appends and recovery go on from there, it is refused
// where it would lose or reuse seqs, and a power cut at any point leaves
// either the old or the new position, never a broken log.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/crc32c.h"
#include "core/srl.h"
#include "fault_env.h"
#include "temp_dir.h"

using namespace rvg;
using namespace rvg::testing;

namespace {

const std::string kUuid = "uuid-rebase";
const std::string kPath = "/h/srl";

// Record `seq` of `length` bytes, all equal to the low byte of its seq.
WriteRecord MakeRecord(uint64_t seq, uint32_t length = 4096) {
  auto data = std::make_shared<DataBuffer>(length);
  std::memset(data->data(), static_cast<int>(seq & 0xff), length);
  const uint32_t crc = Crc32c(data->data(), length);
  return WriteRecord{seq, 1, seq * 4096, length, crc, std::move(data)};
}

std::vector<WriteRecord> MakeRecords(uint64_t first, uint64_t count, uint32_t length = 4096) {
  std::vector<WriteRecord> records;
  for (uint64_t seq = first; seq < first + count; ++seq) records.push_back(MakeRecord(seq, length));
  return records;
}

void AppendAll(Srl& srl, const std::vector<WriteRecord>& records) {
  auto n = srl.Append(records.data(), records.size());
  INFO(n.status().ToString());
  REQUIRE(n.ok());
  REQUIRE(*n == records.size());
}

// Opens and recovers the SRL at `path`; the seqs it replays go to `seqs`.
std::unique_ptr<Srl> OpenAndRecover(FileEnv* env, const std::string& path,
                                    std::vector<uint64_t>* seqs = nullptr,
                                    uint64_t durable_seq = 0) {
  auto srl = Srl::Open(path, kUuid, env);
  INFO(srl.status().ToString());
  REQUIRE(srl.ok());
  Status st = (*srl)->Recover(
      [&](const WriteRecord& r) {
        if (seqs != nullptr) seqs->push_back(r.seq);
        // The data is the record's own, not a stale one at the same place.
        const uint8_t expected = static_cast<uint8_t>(r.seq & 0xff);
        for (uint32_t i = 0; i < r.length; ++i) {
          if (r.data->data()[i] != expected) return Status::Error("wrong data");
        }
        return Status::Ok();
      },
      durable_seq);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return std::move(*srl);
}

std::unique_ptr<Srl> CreateAndRecover(FileEnv* env, const std::string& path) {
  Status st = Srl::Create(path, Srl::kMinSize, kUuid, env);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return OpenAndRecover(env, path);
}

std::vector<uint64_t> Seqs(uint64_t first, uint64_t count) {
  std::vector<uint64_t> seqs;
  for (uint64_t seq = first; seq < first + count; ++seq) seqs.push_back(seq);
  return seqs;
}

}  // namespace

TEST_CASE("a rebased log appends and recovers from the new seq") {
  FaultEnv fault_env;
  TempDir dir;
  FileEnv* env = nullptr;
  std::string path;
  SECTION("in memory") {
    env = &fault_env;
    path = kPath;
  }
  SECTION("on a real file") {
    env = FileEnv::Posix();
    path = dir.File("srl");
  }
  auto srl = CreateAndRecover(env, path);
  AppendAll(*srl, MakeRecords(1, 5));
  REQUIRE(srl->Sync().ok());
  REQUIRE(srl->AdvanceTail(6, 5).ok());
  REQUIRE(srl->tail_seq() == srl->next_seq());

  REQUIRE(srl->Rebase(1000).ok());
  CHECK(srl->tail_seq() == 1000);
  CHECK(srl->next_seq() == 1000);
  CHECK(srl->used_bytes() == 0);
  CHECK(srl->Read(5).status().code() == ENOENT);  // gone, as after a tail move

  // Only seq 1000 may follow now.
  WriteRecord old_next = MakeRecord(6);
  CHECK(srl->Append(&old_next, 1).status().code() == EINVAL);
  const auto records = MakeRecords(1000, 4);
  AppendAll(*srl, records);
  REQUIRE(srl->Sync().ok());
  for (const WriteRecord& r : records) {
    auto read = srl->Read(r.seq);
    REQUIRE(read.ok());
    CHECK(read->offset == r.offset);
  }

  std::vector<uint64_t> seqs;
  srl.reset();
  srl = OpenAndRecover(env, path, &seqs, 5);
  CHECK(seqs == Seqs(1000, 4));
  CHECK(srl->tail_seq() == 1000);
  CHECK(srl->next_seq() == 1004);

  // A tail move and a second rebase work from there as well.
  REQUIRE(srl->AdvanceTail(1004, 1003).ok());
  REQUIRE(srl->Rebase(1004).ok());  // to the seq it already has: allowed
  REQUIRE(srl->Rebase(5000).ok());
  AppendAll(*srl, MakeRecords(5000, 2));
  REQUIRE(srl->Sync().ok());
  seqs.clear();
  srl.reset();
  srl = OpenAndRecover(env, path, &seqs, 1003);
  CHECK(seqs == Seqs(5000, 2));
}

TEST_CASE("a new log can be rebased before its first record, and stays so with none") {
  FaultEnv env;
  auto srl = CreateAndRecover(&env, kPath);
  REQUIRE(srl->Rebase(77).ok());
  srl.reset();
  srl = OpenAndRecover(&env, kPath);
  CHECK(srl->tail_seq() == 77);
  CHECK(srl->next_seq() == 77);
}

TEST_CASE("rebase is refused on a non-empty log, on a smaller seq and before recovery") {
  FaultEnv env;
  REQUIRE(Srl::Create(kPath, Srl::kMinSize, kUuid, &env).ok());
  {
    auto opened = Srl::Open(kPath, kUuid, &env);
    REQUIRE(opened.ok());
    CHECK((*opened)->Rebase(10).code() == EINVAL);  // not recovered yet
  }
  auto srl = OpenAndRecover(&env, kPath);
  AppendAll(*srl, MakeRecords(1, 3));
  REQUIRE(srl->Sync().ok());

  Status st = srl->Rebase(10);
  CHECK(st.code() == EINVAL);
  CHECK_THAT(st.message(), Catch::Contains("still holds seqs 1..3"));
  CHECK(srl->next_seq() == 4);
  REQUIRE(srl->AdvanceTail(3).ok());  // one record left
  CHECK(srl->Rebase(10).code() == EINVAL);
  REQUIRE(srl->AdvanceTail(4).ok());
  st = srl->Rebase(3);
  CHECK(st.code() == EINVAL);
  CHECK_THAT(st.message(), Catch::Contains("back to seq 3"));
  CHECK(srl->Rebase(0).code() == EINVAL);
  CHECK(srl->next_seq() == 4);

  // Nothing the refusals did shows after a reopen.
  std::vector<uint64_t> seqs;
  srl.reset();
  srl = OpenAndRecover(&env, kPath, &seqs);
  CHECK(seqs.empty());
  CHECK(srl->next_seq() == 4);
  REQUIRE(srl->Rebase(10).ok());
}

TEST_CASE("a failed checkpoint write fails the rebase for good") {
  FaultEnv env;
  auto srl = CreateAndRecover(&env, kPath);
  env.InjectError(Fault{FaultOp::kSync, kPath, EIO, 0, false});
  CHECK(srl->Rebase(50).code() == EIO);
  CHECK(srl->Rebase(50).code() == EIO);  // sticky, like AdvanceTail
  WriteRecord record = MakeRecord(50);
  CHECK(srl->Append(&record, 1).status().code() == EIO);
}

TEST_CASE("a rebase behind a WRAP whose record was torn keeps the chain") {
  // Three 1 MiB records nearly fill the first lap; the tail moves after
  // them; the fourth gets a WRAP and starts lap 1, and is then damaged.
  // Recovery ends after the WRAP: empty, with the head one WRAP past the
  // tail (same seq, chained from the WRAP). The rebased log must append and
  // recover from there.
  FaultEnv env;
  auto srl = CreateAndRecover(&env, kPath);
  AppendAll(*srl, MakeRecords(1, 3, kMaxWriteBytes));
  REQUIRE(srl->Sync().ok());
  REQUIRE(srl->AdvanceTail(4).ok());
  AppendAll(*srl, MakeRecords(4, 1, kMaxWriteBytes));
  REQUIRE(srl->Sync().ok());
  srl.reset();
  env.Corrupt(kPath, 8192 + 100, 0x01);  // record 4's data, at the start of lap 1

  srl = OpenAndRecover(&env, kPath);
  REQUIRE(srl->next_seq() == 4);
  REQUIRE(srl->tail_seq() == 4);
  REQUIRE(srl->used_bytes() > 0);  // the WRAP
  REQUIRE(srl->Rebase(20).ok());
  CHECK(srl->used_bytes() == 0);
  AppendAll(*srl, MakeRecords(20, 3));
  REQUIRE(srl->Sync().ok());

  std::vector<uint64_t> seqs;
  srl.reset();
  srl = OpenAndRecover(&env, kPath, &seqs);
  CHECK(seqs == Seqs(20, 3));
}

TEST_CASE("after Rebase returns, a power cut recovers the new position") {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    CAPTURE(seed);
    const double keep = static_cast<double>(seed % 3) / 2.0;  // 0, 0.5, 1
    FaultEnv env;
    auto srl = CreateAndRecover(&env, kPath);
    AppendAll(*srl, MakeRecords(1, 8));
    REQUIRE(srl->Sync().ok());
    REQUIRE(srl->AdvanceTail(9, 8).ok());
    REQUIRE(srl->Rebase(300).ok());
    // Some appended, unsynced records: whatever of them survives is a
    // prefix from seq 300.
    AppendAll(*srl, MakeRecords(300, seed % 5));
    env.PowerCut(seed, keep);
    srl.reset();

    std::vector<uint64_t> seqs;
    srl = OpenAndRecover(&env, kPath, &seqs, 8);
    CHECK(srl->tail_seq() == 300);
    CHECK(seqs == Seqs(300, seqs.size()));
    CHECK(seqs.size() <= seed % 5);
    CHECK(srl->next_seq() == 300 + seqs.size());
  }
}

TEST_CASE("a power cut during Rebase leaves the old or the new position") {
  std::mt19937_64 rng(5);
  bool saw_old = false, saw_new = false;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    CAPTURE(seed);
    FaultEnv env;
    auto srl = CreateAndRecover(&env, kPath);
    AppendAll(*srl, MakeRecords(1, 8));
    REQUIRE(srl->Sync().ok());
    REQUIRE(srl->AdvanceTail(9, 8).ok());

    // Rebase does two mutating operations (the slot write, its sync):
    // freeze before, between and after them.
    const uint64_t ops = seed % 3;
    env.CutAfterOps(ops);
    Status st = srl->Rebase(300);
    CHECK(st.ok() == (ops == 2));
    const double keep = static_cast<double>(rng() % 3) / 2.0;
    env.PowerCut(seed, keep);
    srl.reset();

    std::vector<uint64_t> seqs;
    srl = OpenAndRecover(&env, kPath, &seqs, 8);
    CHECK(seqs.empty());
    const uint64_t next = srl->next_seq();
    CHECK((next == 9 || next == 300));
    if (ops == 2) CHECK(next == 300);
    CHECK(srl->tail_seq() == next);
    saw_old = saw_old || next == 9;
    saw_new = saw_new || next == 300;

    // The log works from whichever position it came back at.
    AppendAll(*srl, MakeRecords(next, 3));
    REQUIRE(srl->Sync().ok());
    seqs.clear();
    srl.reset();
    srl = OpenAndRecover(&env, kPath, &seqs, 8);
    CHECK(seqs == Seqs(next, 3));
  }
  CHECK(saw_old);
  CHECK(saw_new);
}

// Fast failback (doc/failover.md): a host that gives up the seqs it held
// past the other line's fork moves its empty log back.
TEST_CASE("a rebase back, allowed for a failback, appends and recovers across power cuts") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    FaultEnv env;
    auto srl = CreateAndRecover(&env, kPath);
    AppendAll(*srl, MakeRecords(1, 40));
    REQUIRE(srl->Sync().ok());
    REQUIRE(srl->AdvanceTail(41, 40).ok());
    CHECK(srl->Rebase(20).code() == EINVAL);  // not without asking for it
    REQUIRE(srl->Rebase(20, true).ok());
    CHECK(srl->next_seq() == 20);
    AppendAll(*srl, MakeRecords(20, 3));
    REQUIRE(srl->Sync().ok());
    AppendAll(*srl, MakeRecords(23, seed % 4));  // not synced: may go
    env.PowerCut(seed, static_cast<double>(seed % 3) / 2.0);
    srl.reset();
    std::vector<uint64_t> seqs;
    // The floor is what the secondary then persisted as applied: 19.
    srl = OpenAndRecover(&env, kPath, &seqs, 19);
    CHECK(srl->tail_seq() == 20);
    REQUIRE(seqs.size() >= 3);
    CHECK(seqs == Seqs(20, seqs.size()));
  }
}
