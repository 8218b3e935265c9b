// doc/failover.md's table, row by row: CompareHistories on both sides of
// every row (each row seen from the other side is its mirror row).
#include <catch2/catch.hpp>

#include "core/generation_history.h"
#include "core/generation_line.h"

using rvg::CompareHistories;
using rvg::Generation;
using rvg::GenerationHistory;
using rvg::HistoryComparison;
using rvg::HistoryVerdict;

namespace {

// A chain of generations named by `uuids`, starting at `starts`.
GenerationHistory Chain(const std::vector<std::pair<std::string, uint64_t>>& entries) {
  GenerationHistory h;
  for (const auto& [uuid, start] : entries) h.push_back(rvg::NextGeneration(h, uuid, start, 0));
  return h;
}

struct Both {
  HistoryComparison local;
  HistoryComparison remote;  // the same handshake seen from the peer
};

Both Compare(const GenerationHistory& l, uint64_t l_last, const GenerationHistory& r,
             uint64_t r_last) {
  REQUIRE(rvg::CheckHistory(l).ok());
  REQUIRE(rvg::CheckHistory(r).ok());
  return {CompareHistories(l, l_last, r, r_last), CompareHistories(r, r_last, l, l_last)};
}

const GenerationHistory kG1 = Chain({{"g1", 1}});
const GenerationHistory kG1G2 = Chain({{"g1", 1}, {"g2", 91}});  // took over at 91
const GenerationHistory kG1GA = Chain({{"g1", 1}, {"gA", 120}});  // rotated at 120

}  // namespace

TEST_CASE("row 1: histories with nothing in common are unrelated, both ways") {
  Both b = Compare(kG1, 10, Chain({{"other", 1}}), 10);
  CHECK(b.local.verdict == HistoryVerdict::kUnrelated);
  CHECK(b.local.row == 1);
  CHECK(b.remote.verdict == HistoryVerdict::kUnrelated);
  CHECK(b.local.common.empty());
}

TEST_CASE("row 2: the same generation and last seq is the same") {
  Both b = Compare(kG1G2, 150, kG1G2, 150);
  CHECK(b.local.verdict == HistoryVerdict::kSame);
  CHECK(b.local.row == 2);
  CHECK(b.remote.verdict == HistoryVerdict::kSame);
  CHECK(b.local.common == "g2");
}

TEST_CASE("rows 3 and 4: same generation, different last seqs: ahead and behind, no rollback") {
  Both b = Compare(kG1, 100, kG1, 60);
  CHECK(b.local.verdict == HistoryVerdict::kLocalAhead);
  CHECK(b.local.row == 3);
  CHECK(b.remote.verdict == HistoryVerdict::kLocalBehind);
  CHECK(b.remote.row == 4);
  CHECK_FALSE(b.local.rollback);
  CHECK_FALSE(b.remote.rollback);
  CHECK(b.local.fork_seq == 0);
}

TEST_CASE("rows 5 and 7: a side that stopped before the new line began follows it cleanly") {
  // The third host held up to 80; the new primary took over at 91.
  Both b = Compare(kG1, 80, kG1G2, 200);
  CHECK(b.local.verdict == HistoryVerdict::kLocalBehind);
  CHECK(b.local.row == 5);
  CHECK_FALSE(b.local.rollback);
  CHECK(b.local.fork_seq == 91);
  CHECK(b.local.common == "g1");
  CHECK(b.remote.verdict == HistoryVerdict::kLocalAhead);
  CHECK(b.remote.row == 7);
  CHECK_FALSE(b.remote.rollback);
  CHECK(b.remote.fork_seq == 91);
}

TEST_CASE("rows 5 and 7 at the edge: holding exactly up to the fork's seq - 1 is clean") {
  Both b = Compare(kG1, 90, kG1G2, 90);
  CHECK(b.local.row == 5);
  CHECK_FALSE(b.local.rollback);
  CHECK(b.remote.row == 7);
}

TEST_CASE("rows 6 and 8: the old primary's writes past the takeover are rolled back") {
  // The old primary wrote up to 100 in g1; the secondary had 90 and took over.
  Both b = Compare(kG1, 100, kG1G2, 95);
  CHECK(b.local.verdict == HistoryVerdict::kLocalBehind);
  CHECK(b.local.row == 6);
  CHECK(b.local.rollback);
  CHECK(b.local.fork_seq == 91);
  CHECK(b.remote.verdict == HistoryVerdict::kLocalAhead);
  CHECK(b.remote.row == 8);
  CHECK(b.remote.rollback);
  CHECK(b.remote.fork_seq == 91);
  // The reason names the seqs to roll back.
  CHECK(b.local.reason.find("91..100") != std::string::npos);
}

TEST_CASE("rows 6 and 8: also when the new line wrote nothing yet") {
  Both b = Compare(kG1, 91, kG1G2, 90);
  CHECK(b.local.row == 6);
  CHECK(b.local.rollback);
}

TEST_CASE("rows 9 and 10: a side whose own new generation holds no writes is behind") {
  // The old primary rotated at 120 after losing its session but wrote
  // nothing more (last 119); the other host took over at 91 and wrote.
  Both b = Compare(kG1GA, 119, kG1G2, 150);
  CHECK(b.local.verdict == HistoryVerdict::kLocalBehind);
  CHECK(b.local.row == 9);
  CHECK(b.local.rollback);  // it holds 91..119 of g1
  CHECK(b.local.fork_seq == 91);
  CHECK(b.remote.verdict == HistoryVerdict::kLocalAhead);
  CHECK(b.remote.row == 10);
  CHECK(b.remote.fork_seq == 91);
}

TEST_CASE("row 9 without rollback: the empty generation began below the other line's fork") {
  Both b = Compare(Chain({{"g1", 1}, {"gA", 50}}), 49, kG1G2, 150);
  CHECK(b.local.row == 9);
  CHECK_FALSE(b.local.rollback);
  CHECK(b.remote.row == 10);
}

TEST_CASE("row 11: both wrote after the split: diverged, both ways") {
  Both b = Compare(kG1GA, 130, kG1G2, 150);
  CHECK(b.local.verdict == HistoryVerdict::kDiverged);
  CHECK(b.local.row == 11);
  CHECK(b.remote.verdict == HistoryVerdict::kDiverged);
  CHECK(b.remote.row == 11);
  CHECK(b.local.common == "g1");
  CHECK(b.local.reason.find("split brain") != std::string::npos);
}

TEST_CASE("row 12: both began generations but neither wrote: still diverged") {
  Both b = Compare(kG1GA, 119, kG1G2, 90);
  CHECK(b.local.verdict == HistoryVerdict::kDiverged);
  CHECK(b.local.row == 12);
  CHECK(b.remote.row == 12);
}

TEST_CASE("a history trimmed to its newest entries still finds the newest common generation") {
  GenerationHistory long_history;
  for (uint64_t i = 0; i < rvg::kMaxHistoryEntries + 40; ++i) {
    long_history.push_back(rvg::NextGeneration(long_history, "g" + std::to_string(i), i + 1, 0));
  }
  GenerationHistory sent = rvg::TrimmedHistory(long_history);
  REQUIRE(sent.size() == rvg::kMaxHistoryEntries);
  CHECK(sent.back() == long_history.back());
  REQUIRE(rvg::CheckHistory(sent).ok());
  // A peer that stopped 10 generations ago is behind, cleanly.
  GenerationHistory peer(long_history.begin(), long_history.end() - 10);
  HistoryComparison c = CompareHistories(peer, peer.back().start_seq, sent, 10000);
  CHECK(c.verdict == HistoryVerdict::kLocalBehind);
  CHECK(c.common == peer.back().uuid);
  CHECK_FALSE(c.rollback);
}

TEST_CASE("CheckHistory refuses what no host could have sent") {
  CHECK_FALSE(rvg::CheckHistory({}).ok());
  GenerationHistory unchained = kG1G2;
  unchained[1].parent = "elsewhere";
  CHECK(rvg::CheckHistory(unchained).message().find("does not follow") != std::string::npos);
  GenerationHistory backwards = Chain({{"g1", 50}, {"g2", 10}});
  CHECK(rvg::CheckHistory(backwards).message().find("starts before") != std::string::npos);
  GenerationHistory twice = Chain({{"g1", 1}, {"g1", 5}});
  CHECK(rvg::CheckHistory(twice).message().find("repeats") != std::string::npos);
  GenerationHistory zero = Chain({{"g1", 0}});
  CHECK_FALSE(rvg::CheckHistory(zero).ok());
  GenerationHistory empty_uuid = Chain({{"", 1}});
  CHECK_FALSE(rvg::CheckHistory(empty_uuid).ok());
  GenerationHistory too_long;
  for (uint64_t i = 0; i <= rvg::kMaxHistoryEntries; ++i) {
    too_long.push_back(rvg::NextGeneration(too_long, "g" + std::to_string(i), i + 1, 0));
  }
  CHECK_FALSE(rvg::CheckHistory(too_long).ok());
}

TEST_CASE("a GenerationLine grows at its end and counts every new generation") {
  rvg::GenerationLine line(kG1G2);
  CHECK(line.current() == kG1G2.back().uuid);
  const uint64_t before = line.version();
  const rvg::Generation next = rvg::NextGeneration(line.history(), "g3", 140, 0);
  line.Extend(next);
  CHECK(line.version() == before + 1);
  CHECK(line.current() == "g3");
  GenerationHistory want = kG1G2;
  want.push_back(next);
  CHECK(line.history() == want);
  CHECK(rvg::CheckHistory(line.history()).ok());
}
