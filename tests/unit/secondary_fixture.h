// Shared by the SecondaryApplier suites: a fake applied_seq store, records
// with deterministic data, and a rig of real files (two volumes and an SRL,
// opened through a CountingEnv) with the images the applied records must
// leave.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/crc32c.h"
#include "core/secondary_applier.h"
#include "counting_env.h"
#include "engine_fixture.h"

namespace rvg::testing {

// An AppliedSeqStore that can answer EBUSY a number of times, or fail with
// a given error every time.
class FakeStore : public AppliedSeqStore {
 public:
  Status SaveAppliedSeq(uint64_t seq) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++attempts;
    if (busy_left != 0) {
      if (busy_left != kForever) --busy_left;
      return Status::Error("saving applied_seq: database is locked", EBUSY);
    }
    if (!failure.ok()) return failure;
    saved = seq;
    return Status::Ok();
  }
  Result<uint64_t> LoadAppliedSeq() override { return saved.load(); }
  Status SaveConsistency(bool consistent) override {
    std::lock_guard<std::mutex> lock(mu_);
    consistency.push_back(consistent);
    return Status::Ok();
  }
  std::vector<bool> Consistency() {
    std::lock_guard<std::mutex> lock(mu_);
    return consistency;
  }

  void BusyFor(int times) {
    std::lock_guard<std::mutex> lock(mu_);
    busy_left = times;
  }
  void FailWith(Status st) {
    std::lock_guard<std::mutex> lock(mu_);
    failure = std::move(st);
  }

  static constexpr int kForever = -1;
  std::atomic<uint64_t> saved{0};
  std::atomic<int> attempts{0};

 private:
  std::mutex mu_;
  int busy_left = 0;
  Status failure;
  std::vector<bool> consistency;  // SaveConsistency calls, in order
};

inline WriteRecord MakeRecord(uint64_t seq, uint32_t volume, uint64_t offset, size_t length) {
  auto bytes = Pattern(seq, length);
  auto buffer = std::make_shared<DataBuffer>(length);
  std::memcpy(buffer->data(), bytes.data(), length);
  WriteRecord r;
  r.seq = seq;
  r.volume = volume;
  r.offset = offset;
  r.length = static_cast<uint32_t>(length);
  r.data_crc = Crc32c(bytes.data(), length);
  r.data = buffer;
  return r;
}

// Checkpoints (and so store calls) soon after each write; quick retries.
inline SecondaryApplierOptions QuickCheckpoints() {
  SecondaryApplierOptions options;
  options.checkpoint_interval = std::chrono::milliseconds(10);
  options.store_retry_delay = std::chrono::milliseconds(1);
  return options;
}

// A secondary's files (two volumes and an SRL) and what the images must
// hold once the records given to Expect() are applied in order.
struct SecondaryRig {
  TempDir dir;
  CountingEnv env;  // over the real files: counts writes and syncs
  std::vector<VolumeSpec> specs = TwoVolumes(dir.path());
  std::string srl_path = dir.path() + "/srl";
  FakeStore store;
  std::unique_ptr<VolumeSet> volumes;
  std::unique_ptr<Srl> srl;
  std::vector<uint8_t> expect_alpha = std::vector<uint8_t>(specs[0].size, 0);
  std::vector<uint8_t> expect_beta = std::vector<uint8_t>(specs[1].size, 0);

  explicit SecondaryRig(uint64_t srl_size = Srl::kMinSize) {
    REQUIRE(VolumeSet::CreateImages(specs).ok());
    REQUIRE(Srl::Create(srl_path, srl_size, "srl-uuid").ok());
    Reopen();
  }

  // What a restart of rvgd does: open the files again.
  void Reopen() {
    srl.reset();
    volumes.reset();
    auto v = VolumeSet::Open(specs, &env);
    REQUIRE(v.ok());
    volumes = std::move(*v);
    auto s = Srl::Open(srl_path, "srl-uuid", &env);
    REQUIRE(s.ok());
    srl = std::move(*s);
  }

  std::unique_ptr<SecondaryApplier> Applier(SecondaryApplierOptions options = {},
                                            std::function<void()> on_change = {}) {
    return std::make_unique<SecondaryApplier>(volumes.get(), srl.get(), &store,
                                              std::move(on_change), options);
  }

  const WriteRecord& Expect(const WriteRecord& r) {
    auto& image = r.volume == 1 ? expect_alpha : expect_beta;
    std::memcpy(image.data() + r.offset, r.data->data(), r.length);
    return r;
  }

  void CheckImages() {
    CHECK(ReadAll(*volumes, 1) == expect_alpha);
    CHECK(ReadAll(*volumes, 2) == expect_beta);
  }
};

}  // namespace rvg::testing
