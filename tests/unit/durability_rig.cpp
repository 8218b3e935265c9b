#include "durability_rig.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include "engine_fixture.h"

namespace rvg::testing {

DurabilityRig::DurabilityRig()
    : specs({{1, "alpha", "/rvg/alpha.img", 512 << 10}, {2, "beta", "/rvg/beta.img", 256 << 10}}),
      model(specs) {}

Status DurabilityRig::Create() {
  Status st = VolumeSet::CreateImages(specs, &env);
  if (st.ok()) st = Srl::Create(srl_path, Srl::kMinSize, uuid, &env);
  return st;
}

Result<std::unique_ptr<PrimaryRvg>> DurabilityRig::Open(
    PrimaryOptions options, std::shared_ptr<RlinkSet> rlinks,
    CheckpointListener* listener) {
  auto volumes = VolumeSet::Open(specs, &env);
  if (!volumes.ok()) return volumes.status();
  auto srl = Srl::Open(srl_path, uuid, &env);
  if (!srl.ok()) return srl.status();
  options.on_sequenced = [this](const WriteRecord& r) { model.Sequenced(r); };
  options.on_released = [this](uint64_t first) { model.Released(first); };
  return PrimaryRvg::Open(std::move(*volumes), std::move(*srl), std::move(rlinks), listener,
                          options);
}

std::string DurabilityRig::Verify(uint64_t k) {
  std::vector<std::vector<uint8_t>> images;
  auto set = VolumeSet::Open(specs, &env);
  for (const VolumeSpec& spec : specs) {
    images.push_back(set.ok() ? ReadAll(**set, spec.id) : std::vector<uint8_t>());
    // A read refused because the env froze (a cut armed before Open) says
    // nothing about the images: take the disk's visible state instead.
    if (images.back().empty() && env.frozen()) images.back() = env.Contents(spec.path);
  }
  return model.Recovered(k, images);
}

WriteRange RandomRange(std::mt19937_64& rng, const std::vector<VolumeSpec>& specs) {
  const VolumeSpec& spec = specs[rng() % specs.size()];
  const bool aligned = rng() % 3 != 0;
  size_t length = size_t{512} << (rng() % 8);
  length = length / 2 + rng() % (length / 2 + 1);
  if (aligned) length = length / 512 * 512;
  length = std::clamp<size_t>(length, 512, 64 << 10);
  uint64_t offset = rng() % (spec.size - length + 1);
  if (aligned) offset = offset / 512 * 512;
  return WriteRange{spec.id, offset, length};
}

Status DurabilityRig::WriteRandom(PrimaryRvg& engine, std::mt19937_64& rng, bool strict) {
  const WriteRange range = RandomRange(rng, specs);
  const uint64_t id = next_id_++;
  std::vector<uint8_t> data = TaggedData(id, range.length);
  Status st = engine.Write(range.volume, range.offset, data.data(), data.size(), strict);
  if (!st.ok()) return st;
  const uint64_t seq = model.SeqOf(id);
  model.Answered(seq);
  if (strict) model.Acknowledged(seq);
  return st;
}

Status DurabilityRig::FlushAndAck(PrimaryRvg& engine) {
  const uint64_t covered = model.answered();
  Status st = engine.Flush();
  if (st.ok()) model.Acknowledged(covered);
  return st;
}

PrimaryOptions FastCheckpoints() {
  PrimaryOptions options;
  options.checkpoint_interval = std::chrono::milliseconds(10);
  return options;
}

Status RunWithin(const std::function<Status()>& stop, std::chrono::seconds limit,
                 const std::string& context) {
  std::promise<Status> done;
  std::future<Status> result = done.get_future();
  std::thread stopper([&stop, &done] { done.set_value(stop()); });
  if (result.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "did not return within %lld s: %s\n",
                 static_cast<long long>(limit.count()), context.c_str());
    std::abort();
  }
  stopper.join();
  return result.get();
}

Status CloseWithin(std::unique_ptr<PrimaryRvg> engine, std::chrono::seconds limit,
                   const std::string& context) {
  return RunWithin(
      [&engine] {
        Status st = engine->Close();
        engine.reset();  // the destructor joins the engine's threads: inside the limit too
        return st;
      },
      limit, "PrimaryRvg::Close(), " + context);
}

QuietLogs::QuietLogs() : saved_level_(spdlog::get_level()) {
  spdlog::set_level(spdlog::level::critical);
}

QuietLogs::~QuietLogs() { spdlog::set_level(static_cast<spdlog::level::level_enum>(saved_level_)); }

void CutTally::Count(bool frozen_before_stop, bool frozen_after_stop) {
  ++(frozen_before_stop ? while_running : frozen_after_stop ? in_stop : after_stop);
}

std::string CutTally::Describe() const {
  return fmt::format("{} cuts ({} inside recovery, {} while running, {} inside the stop, {} after "
                     "a completed stop)",
                     in_recovery + while_running + in_stop + after_stop, in_recovery,
                     while_running, in_stop, after_stop);
}

double KeepProbability(std::mt19937_64& rng) {
  switch (rng() % 10) {
    case 0:
      return 0.0;
    case 1:
      return 1.0;
    default:
      return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }
}

uint64_t SeedFrom(const char* variable) {
  const char* text = std::getenv(variable);
  if (text != nullptr && *text != '\0') return std::strtoull(text, nullptr, 0);
  return std::random_device{}() * 0x100000001ull ^ std::random_device{}();
}

int CountFrom(const char* variable, int fallback) {
  const char* text = std::getenv(variable);
  if (text == nullptr || *text == '\0') return fallback;
  return std::atoi(text);
}

}  // namespace rvg::testing
