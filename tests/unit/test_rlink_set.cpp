// RlinkSet: the waits that tie RLINK state to the write path, exercised with
// real threads. The test thread plays the sender (sessions, acks) and the
// administrator; the blocked calls run on their own threads.
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/rlink_set.h"
#include "engine_fixture.h"
#include "rlink_fixture.h"
#include "rlink_state_catch.h"

namespace {

using namespace std::chrono_literals;
using rvg::Protection;
using rvg::RlinkPolicy;
using rvg::RlinkSet;
using rvg::RlinkState;
using rvg::Status;
using rvg::SyncAck;
using rvg::testing::WaitFor;

constexpr uint64_t kHigh = 10;
constexpr uint64_t kLow = 5;

RlinkPolicy Policy(Protection synchronous, Protection latencyprot = Protection::kOff,
                   std::chrono::milliseconds ack_timeout = 60s,
                   SyncAck sync_ack = SyncAck::kReceived) {
  RlinkPolicy p;
  p.synchronous = synchronous;
  p.sync_ack = sync_ack;
  p.ack_timeout = ack_timeout;
  p.latencyprot = latencyprot;
  p.latency_high_mark = kHigh;
  p.latency_low_mark = kLow;
  return p;
}

std::shared_ptr<RlinkSet> Set(const RlinkPolicy& policy,
                              RlinkState persisted = RlinkState::kDisconnected) {
  rvg::RlinkInit init;
  init.name = "sec";
  init.policy = policy;
  init.persisted = persisted;
  return std::make_shared<RlinkSet>(std::vector<rvg::RlinkInit>{init});
}

// One RLINK "sec", connected and caught up at seq 0.
std::shared_ptr<RlinkSet> Connected(const RlinkPolicy& policy) {
  auto set = Set(policy);
  REQUIRE(set->SessionUp(0, 0));
  return set;
}

rvg::RlinkSnapshot Snap(const RlinkSet& set, size_t i = 0) { return set.Snapshot().at(i); }

void CheckEio(const Status& st, const std::string& says) {
  CAPTURE(st.message());
  CHECK_FALSE(st.ok());
  CHECK(st.code() == EIO);
  CHECK_THAT(st.message(), Catch::Contains(says));
}

// A call into the set on a thread of its own. Should a check fail while
// the call is still blocked, the destructor ends every wait (Close) before
// joining, so a broken test fails instead of hanging.
class Background {
 public:
  Background(RlinkSet& set, std::function<Status()> call)
      : set_(set), result_(std::async(std::launch::async, std::move(call))) {}
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background() {
    if (!result_.valid()) return;
    if (result_.wait_for(0s) != std::future_status::ready) set_.Close();
    result_.wait();
  }

  // Not done after a short while. (It cannot prove the call would never
  // return; it does catch one that returns when it should not.)
  bool Blocked() { return result_.wait_for(50ms) == std::future_status::timeout; }

  Status Get() {
    if (result_.wait_for(10s) != std::future_status::ready) {
      FAIL_CHECK("the call is still blocked after 10 s");
      set_.Close();
    }
    return result_.get();
  }

 private:
  RlinkSet& set_;
  std::future<Status> result_;
};

std::unique_ptr<Background> Admit(RlinkSet& set) {
  return std::make_unique<Background>(set, [&set] { return set.AdmitWrite(); });
}

std::unique_ptr<Background> AwaitSync(RlinkSet& set, uint64_t seq) {
  return std::make_unique<Background>(set, [&set, seq] { return set.WaitForSyncAcks(seq); });
}

// A write admitted now would bring the backlog to the high mark: AdmitWrite
// on another thread is held back, and the test waits until it is.
std::unique_ptr<Background> HeldBack(RlinkSet& set) {
  set.Sequenced(kHigh - 1);
  auto admit = Admit(set);
  REQUIRE(WaitFor([&] { return set.admission_stalled(); }));
  CHECK(admit->Blocked());
  CHECK(Snap(set).latency_protection);
  return admit;
}

}  // namespace

TEST_CASE("A write below the high mark is admitted at once") {
  auto set = Connected(Policy(Protection::kOff, Protection::kOverride));
  set->Sequenced(kHigh - 2);
  CHECK(set->AdmitWrite().ok());
  CHECK_FALSE(set->admission_stalled());
}

TEST_CASE("A held-back write goes on once the data ack takes the backlog below the low mark") {
  auto set = Connected(Policy(Protection::kOff, Protection::kOverride));
  auto admit = HeldBack(*set);
  // The backlog counts data acks only: a network ack changes nothing.
  set->Acked(0, kHigh - 1, 0);
  CHECK(admit->Blocked());
  set->Acked(0, kHigh - 1, kHigh - 1 - kLow);  // backlog at the low mark: hysteresis
  CHECK(admit->Blocked());
  set->Acked(0, kHigh - 1, kHigh - kLow);  // backlog just below it
  CHECK(admit->Get().ok());
  CHECK_FALSE(Snap(*set).latency_protection);
  CHECK_FALSE(set->admission_stalled());
}

TEST_CASE("Held-back writes end with the protection, or fail on abort and close") {
  auto set = Connected(Policy(Protection::kOff, Protection::kOverride));
  auto admit = HeldBack(*set);

  SECTION("the session goes down under latencyprot=override") {
    set->SessionDown(0);
    CHECK(admit->Get().ok());
  }
  SECTION("rvgadm set latencyprot=off") {
    set->SetPolicy(0, Policy(Protection::kOff));
    CHECK(admit->Get().ok());
  }
  SECTION("AbortWaits: EIO, and a later write may be held back again") {
    set->AbortWaits();
    CheckEio(admit->Get(), "abandoned");
    auto again = Admit(*set);
    REQUIRE(WaitFor([&] { return set->admission_stalled(); }));
    CHECK(again->Blocked());
    set->Acked(0, kHigh - 1, kHigh - 1);
    CHECK(again->Get().ok());
  }
  SECTION("Close: EIO, and every later write too") {
    set->Close();
    CheckEio(admit->Get(), "stopping");
    CheckEio(set->AdmitWrite(), "stopping");
  }
}

TEST_CASE("Close ends a wait for a synchronous ack with EIO, and every later one") {
  auto set = Connected(Policy(Protection::kFail));
  set->Sequenced(1);
  auto wait = AwaitSync(*set, 1);
  CHECK(wait->Blocked());
  set->Close();
  CheckEio(wait->Get(), "stopped");
  CheckEio(set->WaitForSyncAcks(1), "stopped");
}

TEST_CASE("A synchronous write waits for the ack at its sync_ack level") {
  for (SyncAck ack : {SyncAck::kReceived, SyncAck::kDurable}) {
    CAPTURE(rvg::SyncAckName(ack));
    for (Protection mode : {Protection::kOverride, Protection::kFail}) {
      CAPTURE(rvg::ProtectionName(mode));
      auto set = Connected(Policy(mode, Protection::kOff, 60s, ack));
      REQUIRE(Snap(*set).sync_effective);
      set->Sequenced(2);
      auto wait = AwaitSync(*set, 2);
      CHECK(wait->Blocked());
      set->Acked(0, 1, 1);  // an earlier seq
      CHECK(wait->Blocked());
      set->Acked(0, 2, 1);
      if (ack == SyncAck::kDurable) {
        // Held in the secondary's memory is not in its image.
        CHECK(wait->Blocked());
        set->Acked(0, 2, 2);
      }
      CHECK(wait->Get().ok());
      CHECK(Snap(*set).sync_effective);
    }
  }
}

TEST_CASE("A synchronous write waits for every synchronous RLINK and for no other") {
  std::vector<rvg::RlinkInit> inits(3);
  const Protection modes[] = {Protection::kFail, Protection::kOverride, Protection::kOff};
  for (size_t i = 0; i < inits.size(); ++i) {
    inits[i].name = "sec" + std::to_string(i);
    inits[i].policy = Policy(modes[i]);
  }
  RlinkSet set(inits);
  REQUIRE(set.Find("sec2") == 2u);
  CHECK_FALSE(set.Find("nobody"));
  for (size_t i = 0; i < set.size(); ++i) REQUIRE(set.SessionUp(i, 0));
  set.Sequenced(1);
  auto wait = AwaitSync(set, 1);
  set.Acked(1, 1, 1);
  CHECK(wait->Blocked());
  set.Acked(0, 1, 1);
  CHECK(wait->Get().ok());
}

TEST_CASE("override turns asynchronous after ack_timeout and synchronous again once caught up") {
  auto set = Connected(Policy(Protection::kOverride, Protection::kOff, 200ms));
  REQUIRE(Snap(*set).sync_effective);
  set->Sequenced(1);
  set->Sequenced(2);  // written before the timeout: part of what it must catch up

  const auto start = std::chrono::steady_clock::now();
  CHECK(set->WaitForSyncAcks(1).ok());
  CHECK(std::chrono::steady_clock::now() - start >= 200ms);
  CHECK_FALSE(Snap(*set).sync_effective);
  CHECK(Snap(*set).state == RlinkState::kConnected);

  // Asynchronous: a write goes on with no ack at all.
  set->Sequenced(3);
  CHECK(set->WaitForSyncAcks(3).ok());

  set->Acked(0, 1, 1);
  CHECK_FALSE(Snap(*set).sync_effective);
  set->Acked(0, 2, 2);  // the newest seq when it went asynchronous
  CHECK(Snap(*set).sync_effective);
}

TEST_CASE("Writers wait for the data ack only of an RLINK synchronous in effect with "
          "sync_ack=durable") {
  CHECK_FALSE(Connected(Policy(Protection::kOff))->DataAckAwaited(0));
  CHECK_FALSE(Connected(Policy(Protection::kFail))->DataAckAwaited(0));
  CHECK(Connected(Policy(Protection::kFail, Protection::kOff, 60s, SyncAck::kDurable))
            ->DataAckAwaited(0));
  // override: only while it is synchronous in effect.
  auto set = Connected(Policy(Protection::kOverride, Protection::kOff, 100ms, SyncAck::kDurable));
  CHECK(set->DataAckAwaited(0));
  set->Sequenced(1);
  CHECK(set->WaitForSyncAcks(1).ok());  // times out: asynchronous now
  CHECK_FALSE(Snap(*set).sync_effective);
  CHECK_FALSE(set->DataAckAwaited(0));
  set->Acked(0, 1, 1);
  CHECK(set->DataAckAwaited(0));
}

TEST_CASE("fail: a missed ack_timeout is EIO naming the RLINK; it stays synchronous") {
  auto set = Connected(Policy(Protection::kFail, Protection::kOff, 200ms));
  set->Sequenced(1);
  const Status st = set->WaitForSyncAcks(1);
  CheckEio(st, "RLINK sec did not acknowledge seq 1");
  CHECK_THAT(st.message(), Catch::Contains("ack_timeout=0.2s"));
  CHECK(Snap(*set).sync_effective);
  CHECK(Snap(*set).state == RlinkState::kConnected);
}

TEST_CASE("fail: with the session down, writes and flushes fail at once") {
  auto set = Connected(Policy(Protection::kFail));
  set->Sequenced(1);
  set->SessionDown(0);
  CheckEio(set->AdmitWrite(), "RLINK sec is disconnected and synchronous=fail");
  CheckEio(set->WaitForSyncAcks(1), "RLINK sec is disconnected and synchronous=fail");
  // A flush of what it already acked does not need it.
  CHECK(set->WaitForSyncAcks(0).ok());
}

TEST_CASE("fail: before its first session a write waits up to ack_timeout for one") {
  SECTION("the session comes") {
    auto set = Set(Policy(Protection::kFail));
    auto admit = Admit(*set);
    REQUIRE(WaitFor([&] { return set->admission_stalled(); }));
    CHECK(admit->Blocked());
    REQUIRE(set->SessionUp(0, 0));
    CHECK(admit->Get().ok());
  }
  SECTION("it does not") {
    auto set = Set(Policy(Protection::kFail, Protection::kOff, 200ms));
    const auto start = std::chrono::steady_clock::now();
    CheckEio(set->AdmitWrite(), "synchronous=fail");
    CHECK(std::chrono::steady_clock::now() - start >= 200ms);
  }
}

TEST_CASE("latencyprot=fail refuses the write that would reach the high mark while down") {
  auto set = Set(Policy(Protection::kOff, Protection::kFail));
  set->Sequenced(kHigh - 2);
  CHECK(set->AdmitWrite().ok());
  set->Sequenced(kHigh - 1);
  CheckEio(set->AdmitWrite(), "latency_high_mark=10 and latencyprot=fail");
}

TEST_CASE("A stale RLINK refuses a session and never holds writes back") {
  auto check_stale = [](RlinkSet& set) {
    CHECK_FALSE(set.SessionUp(0, 3));
    CHECK(set.state(0) == RlinkState::kStale);
    CHECK(Snap(set).persistent == RlinkState::kStale);
    CHECK_FALSE(set.MaySend(0));
    set.Sequenced(3 * kHigh);
    CHECK(set.AdmitWrite().ok());
  };
  const RlinkPolicy policy = Policy(Protection::kOff, Protection::kFail);
  SECTION("persisted stale") {
    check_stale(*Set(policy, RlinkState::kStale));
  }
  SECTION("marked stale while connected") {
    auto set = Connected(policy);
    set->MarkStale(0, "test");
    check_stale(*set);
  }
}

TEST_CASE("Pause and resume, and the errors of pausing or resuming twice") {
  auto set = Connected(Policy(Protection::kOff));
  REQUIRE(set->Pause(0).ok());
  CHECK(set->state(0) == RlinkState::kPaused);
  CHECK(Snap(*set).persistent == RlinkState::kPaused);
  CHECK_FALSE(set->MaySend(0));
  CheckEio(set->Pause(0), "RLINK sec is paused already");

  REQUIRE(set->Resume(0).ok());
  CHECK(set->state(0) == RlinkState::kConnected);
  CHECK(set->MaySend(0));
  CheckEio(set->Resume(0), "RLINK sec is connected, not paused; nothing to resume");

  set->MarkStale(0, "test");
  CheckEio(set->Pause(0), "rvgadm startrep --full");
  CheckEio(set->Resume(0), "RLINK sec is stale, not paused");
}

TEST_CASE("Becoming synchronous on data acks waits for the data acks, not the network ones") {
  auto set = Connected(Policy(Protection::kOff));
  set->Sequenced(3);
  set->Acked(0, 3, 1);
  set->SetPolicy(0, Policy(Protection::kOverride, Protection::kOff, 60s, SyncAck::kDurable));
  CHECK_FALSE(Snap(*set).sync_effective);
  set->Acked(0, 3, 3);
  CHECK(Snap(*set).sync_effective);
}

TEST_CASE("Snapshot and HighestKnownSeq report the progress") {
  auto set = rvg::OneRlink("sec", 7, 5, 4);
  set->progress(0).sent_seq = 9;
  const rvg::RlinkSnapshot s = Snap(*set);
  CHECK(s.name == "sec");
  CHECK(s.state == RlinkState::kDisconnected);
  CHECK((s.sent_seq == 9 && s.net_acked_seq == 5 && s.data_acked_seq == 4));
  CHECK(set->HighestKnownSeq() == 9);
  // The secondary's resume point is a network ack (it may hold it only in
  // memory); the data ack comes with its ACKs.
  REQUIRE(set->SessionUp(0, 6));
  CHECK((Snap(*set).net_acked_seq == 6 && Snap(*set).data_acked_seq == 4));
}
