#include "write_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <numeric>

#include "engine_fixture.h"

namespace rvg::testing {

std::vector<uint8_t> TaggedData(uint64_t id, size_t length) {
  std::vector<uint8_t> data = Pattern(id, length);
  std::memcpy(data.data(), &id, sizeof(id));
  return data;
}

namespace {

uint64_t TagOf(const WriteRecord& r) {
  uint64_t id = 0;
  if (r.length >= sizeof(id)) std::memcpy(&id, r.data->data(), sizeof(id));
  return id;
}

bool Covers(const WriteRecord& r, uint32_t volume, uint64_t offset) {
  return r.volume == volume && r.offset <= offset && offset < r.offset + r.length;
}

}  // namespace

WriteModel::WriteModel(const std::vector<VolumeSpec>& specs) : specs_(specs) {
  for (const VolumeSpec& s : specs_) images_.emplace_back(s.size, 0);
}

size_t WriteModel::IndexOf(uint32_t volume) const {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].id == volume) return i;
  }
  return specs_.size();
}

void WriteModel::Sequenced(const WriteRecord& record) {
  std::lock_guard<std::mutex> lock(mu_);
  if (record.seq != next_seq_ && chain_problem_.empty()) {
    chain_problem_ = fmt::format("the engine handed out seq {} where seq {} was next (a seq "
                                 "skipped or reused)",
                                 record.seq, next_seq_);
  }
  next_seq_ = record.seq + 1;
  history_[record.seq] = record;
  seq_of_id_[TagOf(record)] = record.seq;
}

void WriteModel::Released(uint64_t first) {
  std::lock_guard<std::mutex> lock(mu_);
  if (first > next_seq_ && chain_problem_.empty()) {
    chain_problem_ = fmt::format("the engine released seqs from {}, above seq {} that it has "
                                 "not handed out yet",
                                 first, next_seq_);
  }
  for (auto it = history_.lower_bound(first); it != history_.end();) {
    seq_of_id_.erase(TagOf(it->second));
    it = history_.erase(it);
  }
  next_seq_ = first;
}

uint64_t WriteModel::SeqOf(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = seq_of_id_.find(id);
  return it == seq_of_id_.end() ? 0 : it->second;
}

void WriteModel::Answered(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  answered_ = std::max(answered_, seq);
}

uint64_t WriteModel::answered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return answered_;
}

void WriteModel::Acknowledged(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  acknowledged_ = std::max(acknowledged_, seq);
}

uint64_t WriteModel::acknowledged() const {
  std::lock_guard<std::mutex> lock(mu_);
  return acknowledged_;
}

uint64_t WriteModel::applied() const {
  std::lock_guard<std::mutex> lock(mu_);
  return applied_;
}

uint64_t WriteModel::lost() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lost_;
}

// Describes the first byte where `actual` differs from the model: which seq
// should have written it and which write's data is there instead.
std::string WriteModel::CompareImageLocked(const VolumeSpec& spec,
                                           const std::vector<uint8_t>& actual,
                                           uint64_t k) const {
  const std::vector<uint8_t>& expected = images_[IndexOf(spec.id)];
  if (actual == expected) return "";
  if (actual.size() != expected.size()) {
    return fmt::format("volume {} could not be read back whole", spec.name);
  }
  auto [mismatch, unused] = std::mismatch(expected.begin(), expected.end(), actual.begin());
  const uint64_t at = static_cast<uint64_t>(mismatch - expected.begin());
  const size_t differing = static_cast<size_t>(std::inner_product(
      expected.begin(), expected.end(), actual.begin(), size_t{0}, std::plus<>(),
      [](uint8_t a, uint8_t b) { return a != b ? 1 : 0; }));
  std::string should = "no write since the last verified recovery (zeros or older data)";
  std::string holds = "bytes of no write the history knows";
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
    const WriteRecord& r = it->second;
    if (!Covers(r, spec.id, at)) continue;
    if (r.seq <= k && should[0] == 'n') should = fmt::format("seq {}", r.seq);
    const uint64_t n = std::min<uint64_t>(16, r.offset + r.length - at);
    if (holds[0] == 'b' &&
        std::memcmp(r.data->data() + (at - r.offset), actual.data() + at, n) == 0) {
      holds = fmt::format("the data of seq {}{}", r.seq,
                          r.seq > k ? ", which the recovered SRL does not have" : "");
    }
  }
  return fmt::format("volume {} differs from the replay of seqs 1..{} in {} bytes; the first "
                     "at offset {}, which should hold {} but holds {}",
                     spec.name, k, differing, at, should, holds);
}

std::string WriteModel::Recovered(uint64_t k, const std::vector<std::vector<uint8_t>>& images) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> problems;
  if (!chain_problem_.empty()) problems.push_back(chain_problem_);
  if (k < acknowledged_) {
    problems.push_back(fmt::format("recovered to seq {}, but seqs up to {} were acknowledged as "
                                   "durable: {} lost",
                                   k, acknowledged_, acknowledged_ - k));
  }
  if (k < applied_) {
    problems.push_back(fmt::format("recovered to seq {}, below seq {} that an earlier recovery "
                                   "had: the log went backwards",
                                   k, applied_));
  } else {
    for (uint64_t seq = applied_ + 1; seq <= k; ++seq) {
      auto it = history_.find(seq);
      if (it == history_.end()) {
        problems.push_back(fmt::format("recovered seq {} was never handed out", seq));
        break;
      }
      const WriteRecord& r = it->second;
      std::memcpy(images_[IndexOf(r.volume)].data() + r.offset, r.data->data(), r.length);
    }
    for (size_t i = 0; i < specs_.size(); ++i) {
      std::string diff = CompareImageLocked(specs_[i], images.at(i), k);
      if (!diff.empty()) problems.push_back(diff);
    }
    applied_ = k;
  }
  // Seqs above k are gone and will be handed out again.
  lost_ += static_cast<uint64_t>(std::distance(history_.upper_bound(k), history_.end()));
  history_.clear();
  seq_of_id_.clear();
  next_seq_ = k + 1;
  chain_problem_.clear();
  answered_ = std::min(answered_, k);
  acknowledged_ = std::min(acknowledged_, k);

  std::string out;
  for (const std::string& p : problems) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace rvg::testing
