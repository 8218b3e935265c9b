// ReorderBuffer: any arrival order, with duplicates, comes out as 1..N.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "core/reorder_buffer.h"

namespace {

using Gap = std::optional<std::pair<uint64_t, uint64_t>>;

rvg::WriteRecord MakeRecord(uint64_t seq, uint32_t length = 512) {
  rvg::WriteRecord record;
  record.seq = seq;
  record.volume = 1;
  record.offset = seq * 4096;
  record.length = length;
  record.data = std::make_shared<const rvg::DataBuffer>(length);
  return record;
}

std::vector<uint64_t> Seqs(const std::vector<rvg::WriteRecord>& records) {
  std::vector<uint64_t> seqs;
  for (const auto& record : records) seqs.push_back(record.seq);
  return seqs;
}

}  // namespace

TEST_CASE("Records arriving in order pop straight away") {
  rvg::ReorderBuffer buffer(1);
  CHECK(buffer.next_seq() == 1);
  CHECK(buffer.contiguous_seq() == 0);
  CHECK(buffer.PopReady().empty());
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    REQUIRE(buffer.Add(MakeRecord(seq)) == rvg::ReorderBuffer::Offer::kAccepted);
    CHECK(Seqs(buffer.PopReady()) == std::vector<uint64_t>{seq});
  }
  CHECK(buffer.next_seq() == 4);
  CHECK(buffer.contiguous_seq() == 3);
  CHECK(buffer.held_records() == 0);
  CHECK(buffer.held_bytes() == 0);
  CHECK_FALSE(buffer.FirstGap().has_value());
}

TEST_CASE("Records behind a hole wait, and the hole is reported") {
  rvg::ReorderBuffer buffer(10);
  REQUIRE(buffer.Add(MakeRecord(13, 100)) == rvg::ReorderBuffer::Offer::kAccepted);
  REQUIRE(buffer.Add(MakeRecord(14, 200)) == rvg::ReorderBuffer::Offer::kAccepted);
  REQUIRE(buffer.Add(MakeRecord(17, 300)) == rvg::ReorderBuffer::Offer::kAccepted);
  CHECK(buffer.PopReady().empty());
  CHECK(buffer.held_records() == 3);
  CHECK(buffer.held_bytes() == 600);
  CHECK(buffer.contiguous_seq() == 9);
  CHECK(buffer.FirstGap() == Gap({10, 12}));

  // 10 and 11 arrive but are not popped yet: the gap moves behind them.
  buffer.Add(MakeRecord(10, 1));
  buffer.Add(MakeRecord(11, 1));
  CHECK(buffer.contiguous_seq() == 11);
  CHECK(buffer.FirstGap() == Gap({12, 12}));
  CHECK(Seqs(buffer.PopReady()) == std::vector<uint64_t>{10, 11});
  CHECK(buffer.FirstGap() == Gap({12, 12}));

  // 12 closes the first hole; the run 12..14 is ready and 15..16 is missing.
  buffer.Add(MakeRecord(12, 1));
  CHECK(buffer.contiguous_seq() == 14);
  CHECK(buffer.FirstGap() == Gap({15, 16}));
  CHECK(Seqs(buffer.PopReady()) == std::vector<uint64_t>{12, 13, 14});
  CHECK(buffer.next_seq() == 15);
  CHECK(buffer.contiguous_seq() == 14);
  CHECK(buffer.held_records() == 1);
  CHECK(buffer.held_bytes() == 300);

  buffer.Add(MakeRecord(16, 1));
  CHECK(buffer.FirstGap() == Gap({15, 15}));
  buffer.Add(MakeRecord(15, 1));
  CHECK_FALSE(buffer.FirstGap().has_value());
  CHECK(buffer.contiguous_seq() == 17);
  CHECK(Seqs(buffer.PopReady()) == std::vector<uint64_t>{15, 16, 17});
  CHECK(buffer.held_bytes() == 0);
}

TEST_CASE("Duplicates are dropped whether held or already handed out") {
  rvg::ReorderBuffer buffer(5);
  CHECK(buffer.Add(MakeRecord(4)) == rvg::ReorderBuffer::Offer::kDuplicate);
  CHECK(buffer.Add(MakeRecord(5, 10)) == rvg::ReorderBuffer::Offer::kAccepted);
  CHECK(buffer.Add(MakeRecord(7, 20)) == rvg::ReorderBuffer::Offer::kAccepted);
  // A held duplicate with another length must not change the accounting.
  CHECK(buffer.Add(MakeRecord(7, 999)) == rvg::ReorderBuffer::Offer::kDuplicate);
  CHECK(buffer.held_records() == 2);
  CHECK(buffer.held_bytes() == 30);

  auto popped = buffer.PopReady();
  REQUIRE(Seqs(popped) == std::vector<uint64_t>{5});
  CHECK(buffer.Add(MakeRecord(5)) == rvg::ReorderBuffer::Offer::kDuplicate);
  CHECK(buffer.next_seq() == 6);
  CHECK(buffer.held_records() == 1);
  CHECK(buffer.held_bytes() == 20);
  CHECK(buffer.FirstGap() == Gap({6, 6}));
}

TEST_CASE("Reset drops everything and restarts the sequence") {
  rvg::ReorderBuffer buffer(1);
  buffer.Add(MakeRecord(1));
  buffer.Add(MakeRecord(3));
  buffer.Add(MakeRecord(4));
  buffer.Reset(100);
  CHECK(buffer.next_seq() == 100);
  CHECK(buffer.contiguous_seq() == 99);
  CHECK(buffer.held_records() == 0);
  CHECK(buffer.held_bytes() == 0);
  CHECK_FALSE(buffer.FirstGap().has_value());
  CHECK(buffer.PopReady().empty());
  CHECK(buffer.Add(MakeRecord(50)) == rvg::ReorderBuffer::Offer::kDuplicate);
  CHECK(buffer.Add(MakeRecord(101)) == rvg::ReorderBuffer::Offer::kAccepted);
  CHECK(buffer.FirstGap() == Gap({100, 100}));
  CHECK(buffer.Add(MakeRecord(100)) == rvg::ReorderBuffer::Offer::kAccepted);
  CHECK(Seqs(buffer.PopReady()) == std::vector<uint64_t>{100, 101});

  // Resetting backwards makes earlier seqs acceptable again.
  buffer.Reset(1);
  CHECK(buffer.Add(MakeRecord(1)) == rvg::ReorderBuffer::Offer::kAccepted);
  CHECK(Seqs(buffer.PopReady()) == std::vector<uint64_t>{1});
}

TEST_CASE("Shuffled arrival with duplicates pops exactly 1..N in order") {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    std::mt19937 rng(seed);
    const uint64_t n = 1 + rng() % 300;
    std::vector<uint64_t> arrivals;
    for (uint64_t seq = 1; seq <= n; ++seq) arrivals.push_back(seq);
    // Resends after a reconnect: some seqs arrive twice or three times.
    for (uint64_t i = 0; i < n / 3; ++i) arrivals.push_back(1 + rng() % n);
    std::shuffle(arrivals.begin(), arrivals.end(), rng);

    INFO("seed " << seed << ", n " << n);
    rvg::ReorderBuffer buffer(1);
    std::vector<bool> arrived(n + 1, false);
    std::vector<uint64_t> popped;
    size_t accepted = 0;
    for (uint64_t seq : arrivals) {
      const bool first_time = !arrived[seq];
      const auto offer = buffer.Add(MakeRecord(seq, 8));
      REQUIRE((offer == rvg::ReorderBuffer::Offer::kAccepted) == first_time);
      arrived[seq] = true;
      if (first_time) ++accepted;

      // The net-ack point is the end of the arrived prefix; the first gap
      // starts right after it and ends before the next arrived seq.
      uint64_t prefix = 0;
      while (prefix < n && arrived[prefix + 1]) ++prefix;
      REQUIRE(buffer.contiguous_seq() == prefix);
      const Gap gap = buffer.FirstGap();
      uint64_t next_arrived = prefix + 1;
      while (next_arrived <= n && !arrived[next_arrived]) ++next_arrived;
      if (next_arrived > n) {
        REQUIRE_FALSE(gap.has_value());
      } else {
        REQUIRE(gap == Gap({prefix + 1, next_arrived - 1}));
      }

      // Pop only now and then, so runs build up inside the buffer too.
      if (rng() % 4 == 0) {
        for (const auto& record : buffer.PopReady()) popped.push_back(record.seq);
      }
      REQUIRE(buffer.held_records() == accepted - popped.size());
      REQUIRE(buffer.held_bytes() == 8 * buffer.held_records());
    }
    for (const auto& record : buffer.PopReady()) popped.push_back(record.seq);

    std::vector<uint64_t> expected;
    for (uint64_t seq = 1; seq <= n; ++seq) expected.push_back(seq);
    REQUIRE(popped == expected);
    CHECK(buffer.next_seq() == n + 1);
    CHECK(buffer.held_records() == 0);
    CHECK(buffer.held_bytes() == 0);
    CHECK_FALSE(buffer.FirstGap().has_value());
  }
}

// --- Limits: what a hostile or broken peer can make the buffer hold.

TEST_CASE("A record too far past the contiguous run is refused, not held") {
  rvg::ReorderLimits limits;
  limits.max_seqs_ahead = 100;
  rvg::ReorderBuffer buffer(1, limits);
  CHECK(buffer.Add(MakeRecord(100)) == rvg::ReorderBuffer::Offer::kAccepted);
  CHECK(buffer.Add(MakeRecord(101)) == rvg::ReorderBuffer::Offer::kTooFarAhead);
  CHECK(buffer.Add(MakeRecord(UINT64_MAX)) == rvg::ReorderBuffer::Offer::kTooFarAhead);
  CHECK(buffer.held_records() == 1);
  // The window moves with the contiguous run.
  for (uint64_t seq = 1; seq <= 10; ++seq) buffer.Add(MakeRecord(seq));
  CHECK(buffer.Add(MakeRecord(110)) == rvg::ReorderBuffer::Offer::kAccepted);
}

TEST_CASE("Held data is capped, but the record that fills the hole still fits") {
  const uint64_t per_record = 4096 + rvg::ReorderBuffer::kRecordOverhead;
  rvg::ReorderLimits limits;
  limits.max_held_bytes = 4 * per_record;
  rvg::ReorderBuffer buffer(1, limits);
  for (uint64_t seq = 2; seq <= 5; ++seq) {
    CHECK(buffer.Add(MakeRecord(seq, 4096)) == rvg::ReorderBuffer::Offer::kAccepted);
  }
  // Exactly at the cap with records ahead of a hole: more ahead is
  // refused, but the hole is not, or the buffer could never drain.
  CHECK(buffer.Add(MakeRecord(6, 4096)) == rvg::ReorderBuffer::Offer::kNoRoom);
  CHECK(buffer.held_records() == 4);
  CHECK(buffer.Add(MakeRecord(1, 4096)) == rvg::ReorderBuffer::Offer::kAccepted);
  CHECK(Seqs(buffer.PopReady()) == std::vector<uint64_t>{1, 2, 3, 4, 5});
  CHECK(buffer.Add(MakeRecord(6, 4096)) == rvg::ReorderBuffer::Offer::kAccepted);
}

TEST_CASE("Seqs refused for room are a gap to NACK even with nothing held ahead") {
  const uint64_t per_record = 4096 + rvg::ReorderBuffer::kRecordOverhead;
  rvg::ReorderLimits limits;
  limits.max_held_bytes = 2 * per_record;
  rvg::ReorderBuffer buffer(1, limits);
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    CHECK(buffer.Add(MakeRecord(seq, 4096)) == rvg::ReorderBuffer::Offer::kAccepted);
  }
  // The apply thread is slow: the run itself is over the cap.
  CHECK(buffer.Add(MakeRecord(4, 4096)) == rvg::ReorderBuffer::Offer::kNoRoom);
  CHECK(buffer.Add(MakeRecord(5, 4096)) == rvg::ReorderBuffer::Offer::kNoRoom);
  CHECK(buffer.FirstGap() == Gap({4, 5}));
  CHECK(Seqs(buffer.PopReady()) == std::vector<uint64_t>{1, 2, 3});
  CHECK(buffer.Add(MakeRecord(4, 4096)) == rvg::ReorderBuffer::Offer::kAccepted);
  CHECK(buffer.FirstGap() == Gap({5, 5}));
  CHECK(buffer.Add(MakeRecord(5, 4096)) == rvg::ReorderBuffer::Offer::kAccepted);
  CHECK(!buffer.FirstGap().has_value());
}

TEST_CASE("The run-extending record is taken while the held data is under the cap") {
  rvg::ReorderLimits limits;
  limits.max_held_bytes = 5 * (4096 + rvg::ReorderBuffer::kRecordOverhead) / 2;
  rvg::ReorderBuffer buffer(1, limits);
  CHECK(buffer.Add(MakeRecord(2, 4096)) == rvg::ReorderBuffer::Offer::kAccepted);
  CHECK(buffer.Add(MakeRecord(3, 4096)) == rvg::ReorderBuffer::Offer::kAccepted);
  CHECK(buffer.Add(MakeRecord(5, 4096)) == rvg::ReorderBuffer::Offer::kNoRoom);
  // Seq 1 goes over the cap by itself but is what lets everything drain.
  CHECK(buffer.Add(MakeRecord(1, 4096)) == rvg::ReorderBuffer::Offer::kAccepted);
  CHECK(Seqs(buffer.PopReady()) == std::vector<uint64_t>{1, 2, 3});
  CHECK(buffer.Add(MakeRecord(5, 4096)) == rvg::ReorderBuffer::Offer::kAccepted);
}

TEST_CASE("A write planted for a future seq is dropped when the session changes") {
  rvg::ReorderBuffer buffer(1);
  buffer.Add(MakeRecord(1));
  buffer.Add(MakeRecord(2));
  rvg::WriteRecord planted = MakeRecord(5);
  planted.offset = 4096 * 999;
  buffer.Add(planted);
  buffer.Add(MakeRecord(7));
  CHECK(buffer.DropAhead() == 2);
  CHECK(buffer.contiguous_seq() == 2);
  CHECK(!buffer.FirstGap().has_value());
  // The real primary's seq 5 is now taken, not refused as a duplicate.
  for (uint64_t seq = 3; seq <= 5; ++seq) {
    CHECK(buffer.Add(MakeRecord(seq)) == rvg::ReorderBuffer::Offer::kAccepted);
  }
  std::vector<rvg::WriteRecord> ready = buffer.PopReady();
  REQUIRE(Seqs(ready) == std::vector<uint64_t>{1, 2, 3, 4, 5});
  CHECK(ready[4].offset == 5 * 4096);
  CHECK(buffer.held_bytes() == 0);
}
