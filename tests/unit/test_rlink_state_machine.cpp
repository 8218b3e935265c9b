// RlinkStateMachine: every cell of the transition table in its header, what
// survives a restart, and the rules for synchronous=override|fail and
// latency protection, all in memory.
#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/rlink_state_machine.h"
#include "rlink_state_catch.h"

namespace {

using rvg::Protection;
using rvg::RlinkPolicy;
using rvg::RlinkState;
using rvg::RlinkStateMachine;
using Verdict = RlinkStateMachine::Verdict;

constexpr RlinkState kD = RlinkState::kDisconnected;
constexpr RlinkState kC = RlinkState::kConnected;
constexpr RlinkState kP = RlinkState::kPaused;
constexpr RlinkState kF = RlinkState::kFailed;
constexpr RlinkState kS = RlinkState::kStale;
constexpr RlinkState kDcm = RlinkState::kDcm;

// Small marks so that the hysteresis band (5..9) is easy to walk through.
constexpr uint64_t kHigh = 10;
constexpr uint64_t kLow = 5;

RlinkPolicy Policy(Protection synchronous = Protection::kOff,
                   Protection latencyprot = Protection::kOff) {
  RlinkPolicy p;
  p.synchronous = synchronous;
  p.latencyprot = latencyprot;
  p.latency_high_mark = kHigh;
  p.latency_low_mark = kLow;
  return p;
}

// A way of reaching a state: the persisted state the machine starts from
// and the events after it. Every cell is checked from every path, so a
// state's hidden facts (an old pause under a failure, say) cannot leak out.
struct Path {
  const char* how;
  RlinkState persisted;
  std::function<void(RlinkStateMachine&)> events;
};

RlinkStateMachine Reach(const Path& path, const RlinkPolicy& policy = Policy()) {
  RlinkStateMachine m(policy, path.persisted);
  if (path.events) path.events(m);
  return m;
}

void Up(RlinkStateMachine& m) { REQUIRE(m.SessionUp(0, 0)); }
void Pause(RlinkStateMachine& m) { REQUIRE(m.Pause(0)); }

// The table's columns. "paused" is split by the session flag underneath it,
// which decides where Resume leads.
enum Column { kDisc, kConn, kPausedDown, kPausedUp, kFail, kStale, kColumns };

const std::array<std::vector<Path>, kColumns>& Paths() {
  static const std::array<std::vector<Path>, kColumns> paths = {{
      {{"fresh", kD, nullptr},
       {"session up, then down", kD, [](auto& m) { Up(m); m.SessionDown(); }},
       {"persisted failed", kF, nullptr},
       {"persisted connected", kC, nullptr}},
      {{"session up", kD, Up},
       {"failed, then session up", kD, [](auto& m) { m.MarkFailed(); Up(m); }},
       {"paused with a session, then resumed", kD, [](auto& m) { Up(m); Pause(m); m.Resume(0); }}},
      {{"paused", kD, Pause},
       {"persisted paused", kP, nullptr},
       {"failed, then paused", kD, [](auto& m) { m.MarkFailed(); Pause(m); }},
       {"paused with a session, then down", kD, [](auto& m) { Up(m); Pause(m); m.SessionDown(); }}},
      {{"connected, then paused", kD, [](auto& m) { Up(m); Pause(m); }},
       {"persisted paused, then session up", kP, Up}},
      {{"failed while disconnected", kD, [](auto& m) { m.MarkFailed(); }},
       {"failed while connected", kD, [](auto& m) { Up(m); m.MarkFailed(); }}},
      {{"stale", kD, [](auto& m) { m.MarkStale(); }},
       {"persisted stale", kS, nullptr},
       {"paused, then stale", kD, [](auto& m) { Pause(m); m.MarkStale(); }},
       {"failed, then stale", kD, [](auto& m) { m.MarkFailed(); m.MarkStale(); }}},
  }};
  return paths;
}

constexpr std::array<RlinkState, kColumns> kColumnState = {kD, kC, kP, kP, kF, kS};

struct Cell {
  RlinkState after;
  bool accepted = true;  // the event's answer; false in "(error)" and "refused" cells
};
constexpr Cell Err(RlinkState s) { return {s, false}; }

struct Row {
  const char* event;
  std::function<bool(RlinkStateMachine&)> apply;
  std::array<Cell, kColumns> cells;
};

// The header's table, row by row.
const std::vector<Row>& Table() {
  static const std::vector<Row> rows = {
      {"SessionUp", [](auto& m) { return m.SessionUp(0, 0); },
       {{{kC}, {kC}, {kP}, {kP}, {kC}, Err(kS)}}},
      {"SessionDown", [](auto& m) { m.SessionDown(); return true; },
       {{{kD}, {kD}, {kP}, {kP}, {kF}, {kS}}}},
      {"Pause", [](auto& m) { return m.Pause(0); },
       {{{kP}, {kP}, Err(kP), Err(kP), {kP}, Err(kS)}}},
      {"Resume", [](auto& m) { return m.Resume(0); },
       {{Err(kD), Err(kC), {kD}, {kC}, Err(kF), Err(kS)}}},
      {"MarkFailed", [](auto& m) { m.MarkFailed(); return true; },
       {{{kF}, {kF}, {kF}, {kF}, {kF}, {kS}}}},
      {"MarkStale", [](auto& m) { m.MarkStale(); return true; },
       {{{kS}, {kS}, {kS}, {kS}, {kS}, {kS}}}},
      {"StartFullSync", [](auto& m) { return m.StartFullSync(); },
       {{{kDcm}, {kDcm}, Err(kP), Err(kP), {kDcm}, {kDcm}}}},
  };
  return rows;
}

RlinkStateMachine Connected(const RlinkPolicy& policy) {
  RlinkStateMachine m(policy, kD);
  Up(m);
  return m;
}

// Walks the backlog from `from` to `to` (inclusive) and checks the verdict
// on a new write at each step.
void ExpectAdmit(RlinkStateMachine& m, uint64_t from, uint64_t to, Verdict want,
                 bool grace_over = false) {
  for (uint64_t b = from;; b = from <= to ? b + 1 : b - 1) {
    CAPTURE(b, m.state());
    CHECK(m.AdmitWrite(b, grace_over) == want);
    if (b == to) break;
  }
}

}  // namespace

TEST_CASE("Every cell of the transition table, from every way of reaching its state") {
  for (const Row& row : Table()) {
    for (int col = 0; col < kColumns; ++col) {
      for (const Path& path : Paths()[col]) {
        CAPTURE(row.event, path.how);
        RlinkStateMachine m = Reach(path);
        REQUIRE(m.state() == kColumnState[col]);
        REQUIRE(m.session_up() == (col == kConn || col == kPausedUp));
        const Cell& want = row.cells[col];
        CHECK(row.apply(m) == want.accepted);
        CHECK(m.state() == want.after);
      }
    }
  }
}

TEST_CASE("A full sync from dcm or resyncing: tracking again, the resync cut short") {
  RlinkStateMachine dcm(Policy(), kD);
  REQUIRE(dcm.EnterDcm());
  CHECK(dcm.StartFullSync());
  CHECK(dcm.state() == kDcm);
  CHECK(dcm.tracking());

  RlinkStateMachine resyncing(Policy(), kD);
  Up(resyncing);
  REQUIRE(resyncing.EnterDcm());
  REQUIRE(resyncing.BeginResync(42));
  REQUIRE(resyncing.state() == RlinkState::kResyncing);
  CHECK(resyncing.StartFullSync());
  CHECK(resyncing.state() == kDcm);
  CHECK(resyncing.tracking());
  CHECK_FALSE(resyncing.needed_seq(0).has_value());  // the SRL is not held for it
  CHECK(resyncing.session_up());                     // the sender begins again

  // A connected synchronous=override RLINK turns asynchronous while it
  // owes regions.
  RlinkStateMachine sync = Connected(Policy(Protection::kOverride));
  REQUIRE(sync.sync_effective());
  CHECK(sync.StartFullSync());
  CHECK_FALSE(sync.sync_effective());
  // A stale RLINK paused before it went stale is started by startrep --full.
  RlinkStateMachine stale(Policy(), kD);
  Pause(stale);
  stale.MarkStale();
  CHECK(stale.StartFullSync());
  CHECK(stale.state() == kDcm);
}

TEST_CASE("A paused RLINK keeps its session flag underneath; only a connected one may send") {
  RlinkStateMachine m(Policy(), kD);
  REQUIRE(m.Pause(0));
  REQUIRE(m.SessionUp(0, 0));
  CHECK(m.session_up());
  CHECK_FALSE(m.may_send());
  m.SessionDown();
  CHECK_FALSE(m.session_up());
  REQUIRE(m.SessionUp(0, 0));
  REQUIRE(m.Resume(0));
  CHECK(m.may_send());
  CHECK(m.active());
}

TEST_CASE("An administrator's pause outlives a failure that a new session cures") {
  RlinkStateMachine m(Policy(), kD);
  Up(m);
  Pause(m);
  m.MarkFailed();
  REQUIRE(m.state() == kF);
  CHECK_FALSE(m.Resume(0));  // the table: failed does not resume
  CHECK(m.state() == kF);
  CHECK(m.SessionUp(0, 0));
  CHECK(m.state() == kP);
}

TEST_CASE("Stale, dcm and paused survive a restart; failed and connected come back disconnected") {
  const std::array<RlinkState, kColumns> persisted = {kD, kD, kP, kP, kD, kS};
  for (int col = 0; col < kColumns; ++col) {
    for (const Path& path : Paths()[col]) {
      CAPTURE(path.how);
      const RlinkStateMachine before = Reach(path);
      CHECK(before.persistent_state() == persisted[col]);
      // A restart: the new machine starts from what state.db kept.
      const RlinkStateMachine after(Policy(), before.persistent_state());
      CHECK(after.state() == persisted[col]);
      CHECK(after.persistent_state() == persisted[col]);
      CHECK_FALSE(after.session_up());
    }
  }
  // A resync starts over after a restart: it comes back as dcm, tracking.
  for (RlinkState s : {RlinkState::kDcm, RlinkState::kResyncing}) {
    const RlinkStateMachine m(Policy(), s);
    CHECK(m.state() == RlinkState::kDcm);
    CHECK(m.tracking());
    CHECK(m.persistent_state() == RlinkState::kDcm);
    CHECK_FALSE(m.needed_seq(5).has_value());
  }
}

TEST_CASE("State names round-trip; an unknown or empty name is disconnected") {
  for (RlinkState s : {kD, kC, kP, kS, RlinkState::kDcm, RlinkState::kResyncing, kF}) {
    CHECK(rvg::RlinkStateFromName(rvg::RlinkStateName(s)) == s);
  }
  CHECK(rvg::RlinkStateFromName("") == kD);
  CHECK(rvg::RlinkStateFromName("bogus") == kD);
}

TEST_CASE("synchronous=off is never synchronous and fail always is") {
  for (const Path& path : Paths()[kConn]) {
    CHECK_FALSE(Reach(path, Policy(Protection::kOff)).sync_effective());
  }
  for (int col = 0; col < kColumns; ++col) {
    for (const Path& path : Paths()[col]) {
      CAPTURE(path.how);
      CHECK(Reach(path, Policy(Protection::kFail)).sync_effective());
    }
  }
}

TEST_CASE("override is synchronous only once caught up to the newest seq at session up") {
  RlinkStateMachine m(Policy(Protection::kOverride), kD);
  CHECK_FALSE(m.sync_effective());
  REQUIRE(m.SessionUp(3, 5));
  CHECK_FALSE(m.sync_effective());
  m.Acked(4, 0, 9);
  CHECK_FALSE(m.sync_effective());
  // The target is the newest seq at session up (5), not the newest now (9).
  m.Acked(5, 0, 9);
  CHECK(m.sync_effective());

  SECTION("already caught up at session up: synchronous at once") {
    m.SessionDown();
    REQUIRE(m.SessionUp(9, 9));
    CHECK(m.sync_effective());
  }
}

TEST_CASE("override turns asynchronous on every way of falling behind, and back when caught up") {
  RlinkStateMachine m(Policy(Protection::kOverride), kD);
  REQUIRE(m.SessionUp(0, 0));
  REQUIRE(m.sync_effective());

  SECTION("session down: caught up again to the newest seq when it came back") {
    m.SessionDown();
    CHECK_FALSE(m.sync_effective());
    m.Acked(20, 0, 20);  // a late ack with no session: still behind
    CHECK_FALSE(m.sync_effective());
    REQUIRE(m.SessionUp(20, 30));
    CHECK_FALSE(m.sync_effective());
    m.Acked(29, 0, 35);
    CHECK_FALSE(m.sync_effective());
    m.Acked(30, 0, 35);
    CHECK(m.sync_effective());
  }
  SECTION("ack timeout: caught up to the newest seq when it timed out") {
    CHECK(m.AwaitAck(6, 5, false, 8) == Verdict::kWait);
    CHECK(m.AwaitAck(6, 5, true, 8) == Verdict::kGo);
    CHECK_FALSE(m.sync_effective());
    // Every other waiter stops waiting for it too.
    CHECK(m.AwaitAck(7, 5, false, 8) == Verdict::kGo);
    m.Acked(7, 0, 12);
    CHECK_FALSE(m.sync_effective());
    m.Acked(8, 0, 12);
    CHECK(m.sync_effective());
  }
  SECTION("pause: caught up to the newest seq when it was paused, and only once resumed") {
    REQUIRE(m.Pause(10));
    CHECK_FALSE(m.sync_effective());
    m.Acked(10, 0, 15);
    CHECK_FALSE(m.sync_effective());  // paused: never synchronous
    REQUIRE(m.Resume(9));
    CHECK_FALSE(m.sync_effective());
    m.Acked(9, 0, 15);
    CHECK_FALSE(m.sync_effective());
    m.Acked(10, 0, 15);
    CHECK(m.sync_effective());
  }
  SECTION("resumed already caught up: synchronous at once") {
    REQUIRE(m.Pause(4));
    REQUIRE(m.Resume(4));
    CHECK(m.sync_effective());
  }
  SECTION("failed, then a new session") {
    m.MarkFailed();
    CHECK_FALSE(m.sync_effective());
    REQUIRE(m.SessionUp(2, 2));
    CHECK(m.sync_effective());
  }
  SECTION("stale: asynchronous for good") {
    m.MarkStale();
    CHECK_FALSE(m.sync_effective());
    m.Acked(100, 0, 100);
    CHECK_FALSE(m.sync_effective());
  }
}

TEST_CASE("AwaitAck under synchronous=off and override never fails") {
  for (Protection p : {Protection::kOff, Protection::kOverride}) {
    for (int col = 0; col < kColumns; ++col) {
      for (const Path& path : Paths()[col]) {
        CAPTURE(rvg::ProtectionName(p), path.how);
        RlinkStateMachine m = Reach(path, Policy(p));
        CHECK(m.AwaitAck(5, 1, true, 5) == Verdict::kGo);
        CHECK(m.AwaitAck(5, 5, false, 5) == Verdict::kGo);
      }
    }
  }
  RlinkStateMachine off = Connected(Policy(Protection::kOff));
  CHECK(off.AwaitAck(5, 1, false, 5) == Verdict::kGo);
}

TEST_CASE("AwaitAck under synchronous=fail: the ack in time, or the flush fails") {
  const RlinkPolicy fail = Policy(Protection::kFail);
  SECTION("connected: waits, goes on the ack, fails on the timeout") {
    RlinkStateMachine m = Connected(fail);
    CHECK(m.AwaitAck(5, 4, false, 5) == Verdict::kWait);
    CHECK(m.AwaitAck(5, 5, false, 5) == Verdict::kGo);
    CHECK(m.AwaitAck(5, 4, true, 5) == Verdict::kFail);
    CHECK(m.sync_effective());  // a timeout never makes fail asynchronous
  }
  SECTION("before the first session: waits for one until the timeout") {
    RlinkStateMachine m(fail, kD);
    CHECK(m.AwaitAck(5, 4, false, 5) == Verdict::kWait);
    CHECK(m.AwaitAck(5, 4, true, 5) == Verdict::kFail);
  }
  SECTION("not connected after a session, paused, failed or stale: fails at once") {
    for (int col : {kDisc, kPausedDown, kPausedUp, kFail, kStale}) {
      for (const Path& path : Paths()[col]) {
        if (col == kDisc && path.events == nullptr) continue;  // never connected: above
        CAPTURE(path.how);
        RlinkStateMachine m = Reach(path, fail);
        CHECK(m.AwaitAck(5, 4, false, 5) == Verdict::kFail);
        CHECK(m.AwaitAck(5, 5, false, 5) == Verdict::kGo);  // already acked
      }
    }
  }
}

TEST_CASE("synchronous=fail admits a new write only while connected") {
  const RlinkPolicy fail = Policy(Protection::kFail);
  RlinkStateMachine fresh(fail, kD);
  CHECK(fresh.AdmitWrite(0, false) == Verdict::kWait);  // the first session may be coming
  CHECK(fresh.AdmitWrite(0, true) == Verdict::kFail);
  REQUIRE(fresh.SessionUp(0, 0));
  CHECK(fresh.AdmitWrite(100, false) == Verdict::kGo);
  fresh.SessionDown();
  CHECK(fresh.AdmitWrite(0, false) == Verdict::kFail);  // no grace after a session

  for (int col : {kDisc, kPausedDown, kPausedUp, kFail, kStale}) {
    for (const Path& path : Paths()[col]) {
      if (col == kDisc && path.events == nullptr) continue;
      CAPTURE(path.how);
      RlinkStateMachine m = Reach(path, fail);
      CHECK(m.AdmitWrite(0, false) == Verdict::kFail);
    }
  }
}

TEST_CASE("Latency protection while connected stalls at the high mark until below the low mark") {
  for (Protection p : {Protection::kOverride, Protection::kFail}) {
    CAPTURE(rvg::ProtectionName(p));
    RlinkStateMachine m = Connected(Policy(Protection::kOff, p));
    ExpectAdmit(m, 0, kHigh - 2, Verdict::kGo);
    CHECK_FALSE(m.latency_protection_active());
    // This write would bring the backlog to the high mark.
    CHECK(m.AdmitWrite(kHigh - 1, false) == Verdict::kWait);
    CHECK(m.latency_protection_active());
    ExpectAdmit(m, kHigh + 3, kLow, Verdict::kWait);
    ExpectAdmit(m, kLow - 1, kLow - 1, Verdict::kGo);
    CHECK_FALSE(m.latency_protection_active());
    ExpectAdmit(m, kLow, kHigh - 2, Verdict::kGo);  // released: the band admits again
  }
}

TEST_CASE("An ack that takes the backlog below the low mark releases latency protection") {
  RlinkStateMachine m = Connected(Policy(Protection::kOff, Protection::kOverride));
  REQUIRE(m.AdmitWrite(kHigh, false) == Verdict::kWait);
  m.Acked(0, kLow, 20);
  CHECK(m.latency_protection_active());
  m.Acked(0, kLow - 1, 20);
  CHECK_FALSE(m.latency_protection_active());
  CHECK(m.AdmitWrite(kLow - 1, false) == Verdict::kGo);
}

TEST_CASE("Latency protection when not connected: override admits, fail refuses the high mark") {
  for (int col : {kDisc, kPausedDown, kPausedUp, kFail}) {
    for (const Path& path : Paths()[col]) {
      CAPTURE(path.how);
      RlinkStateMachine over = Reach(path, Policy(Protection::kOff, Protection::kOverride));
      ExpectAdmit(over, 0, 3 * kHigh, Verdict::kGo);
      CHECK_FALSE(over.latency_protection_active());

      RlinkStateMachine fail = Reach(path, Policy(Protection::kOff, Protection::kFail));
      ExpectAdmit(fail, 0, kHigh - 2, Verdict::kGo);
      ExpectAdmit(fail, kHigh - 1, 3 * kHigh, Verdict::kFail);
      // No hysteresis here: only a write that would reach the mark fails.
      ExpectAdmit(fail, kHigh - 2, kHigh - 2, Verdict::kGo);
    }
  }
}

TEST_CASE("Latency protection drops when a stalled RLINK goes down under override") {
  RlinkStateMachine m = Connected(Policy(Protection::kOff, Protection::kOverride));
  REQUIRE(m.AdmitWrite(kHigh, false) == Verdict::kWait);
  m.SessionDown();
  CHECK(m.AdmitWrite(kHigh, false) == Verdict::kGo);
  CHECK_FALSE(m.latency_protection_active());
}

TEST_CASE("Latency protection never stalls a stale RLINK, nor with latencyprot=off") {
  for (Protection p : {Protection::kOverride, Protection::kFail}) {
    for (const Path& path : Paths()[kStale]) {
      CAPTURE(rvg::ProtectionName(p), path.how);
      RlinkStateMachine m = Reach(path, Policy(Protection::kOff, p));
      ExpectAdmit(m, 0, 3 * kHigh, Verdict::kGo);
      CHECK_FALSE(m.latency_protection_active());
    }
  }
  for (int col = 0; col < kColumns; ++col) {
    for (const Path& path : Paths()[col]) {
      CAPTURE(path.how);
      RlinkStateMachine m = Reach(path, Policy());
      ExpectAdmit(m, 0, 3 * kHigh, Verdict::kGo);
    }
  }
  // A stalled RLINK that turns stale lets writes through at once.
  RlinkStateMachine m = Connected(Policy(Protection::kOff, Protection::kOverride));
  REQUIRE(m.AdmitWrite(kHigh, false) == Verdict::kWait);
  m.MarkStale();
  CHECK_FALSE(m.latency_protection_active());
  CHECK(m.AdmitWrite(kHigh, false) == Verdict::kGo);
}

TEST_CASE("SetPolicy re-derives the effective mode and the protection at once") {
  SECTION("becoming override: synchronous only for writes not already behind") {
    RlinkStateMachine m = Connected(Policy());
    m.SetPolicy(Policy(Protection::kOverride), 4, 0, 6);
    CHECK_FALSE(m.sync_effective());
    m.Acked(5, 0, 8);
    CHECK_FALSE(m.sync_effective());
    m.Acked(6, 0, 8);
    CHECK(m.sync_effective());
  }
  SECTION("becoming override while caught up: synchronous at once") {
    RlinkStateMachine m = Connected(Policy());
    m.SetPolicy(Policy(Protection::kOverride), 6, 0, 6);
    CHECK(m.sync_effective());
  }
  SECTION("override, then off, then fail") {
    RlinkStateMachine m = Connected(Policy(Protection::kOverride));
    REQUIRE(m.sync_effective());
    m.SetPolicy(Policy(Protection::kOff), 0, 0, 0);
    CHECK_FALSE(m.sync_effective());
    m.SetPolicy(Policy(Protection::kFail), 0, 0, 0);
    CHECK(m.sync_effective());
    m.SessionDown();
    CHECK(m.AdmitWrite(0, false) == Verdict::kFail);
    m.SetPolicy(Policy(Protection::kOff), 0, 0, 0);
    CHECK(m.AdmitWrite(0, false) == Verdict::kGo);
  }
  SECTION("latencyprot=off releases a stalled RLINK") {
    RlinkStateMachine m = Connected(Policy(Protection::kOff, Protection::kOverride));
    REQUIRE(m.AdmitWrite(kHigh, false) == Verdict::kWait);
    m.SetPolicy(Policy(), 0, kHigh, kHigh);
    CHECK_FALSE(m.latency_protection_active());
    CHECK(m.AdmitWrite(kHigh, false) == Verdict::kGo);
  }
  SECTION("a higher low mark releases a stalled RLINK now above it") {
    RlinkStateMachine m = Connected(Policy(Protection::kOff, Protection::kOverride));
    REQUIRE(m.AdmitWrite(kHigh - 1, false) == Verdict::kWait);
    RlinkPolicy wider = Policy(Protection::kOff, Protection::kOverride);
    wider.latency_low_mark = kHigh + 1;
    wider.latency_high_mark = kHigh + 5;
    m.SetPolicy(wider, 0, kHigh, kHigh);
    CHECK_FALSE(m.latency_protection_active());
    CHECK(m.AdmitWrite(kHigh, false) == Verdict::kGo);
  }
}
