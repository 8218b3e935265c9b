// SessionGate: who may open, take over and use a secondary's session.
#include <catch2/catch.hpp>

#include "net/session_gate.h"

namespace {

using Clock = rvg::SessionGate::Clock;
using Screen = rvg::SessionGate::Screen;
using std::chrono::milliseconds;

const rvg::PeerId kPrimary{"conn-primary", "PRIMARYKEY"};
const rvg::PeerId kPrimaryAgain{"conn-primary-2", "PRIMARYKEY"};
const rvg::PeerId kStranger{"conn-stranger", ""};
const rvg::PeerId kOtherKey{"conn-other", "OTHERKEY"};

rvg::SessionGateOptions Options() {
  rvg::SessionGateOptions options;
  options.dead_timeout = milliseconds(5000);
  options.hello_burst = 5;
  options.hello_window = milliseconds(1000);
  options.reply_burst = 3;
  options.reply_window = milliseconds(1000);
  return options;
}

}  // namespace

TEST_CASE("A valid-looking HELLO from another connection cannot take a live session over") {
  rvg::SessionGate gate(Options());
  Clock::time_point t0 = Clock::now();
  REQUIRE(gate.ScreenHello(kPrimary, t0) == Screen::kAdmit);
  CHECK(gate.Open(kPrimary, 42, "s", t0));
  // The primary keeps talking; a stranger (no key) and a peer with
  // another key try to replace it, even with the session's own id.
  CHECK(gate.Admit(kPrimary, 42, t0 + milliseconds(900)));
  CHECK(gate.ScreenHello(kStranger, t0 + milliseconds(1000)) == Screen::kBusy);
  CHECK(gate.ScreenHello(kOtherKey, t0 + milliseconds(1100)) == Screen::kBusy);
  CHECK(gate.session().peer.connection == kPrimary.connection);
  // Still busy just before the dead timeout counted from the last message.
  CHECK(gate.ScreenHello(kStranger, t0 + milliseconds(5900)) == Screen::kBusy);
}

TEST_CASE("The same authenticated peer may reopen at once from a new connection") {
  rvg::SessionGate gate(Options());
  Clock::time_point t0 = Clock::now();
  gate.ScreenHello(kPrimary, t0);
  gate.Open(kPrimary, 42, "s", t0);
  CHECK(gate.ScreenHello(kPrimaryAgain, t0 + milliseconds(10)) == Screen::kAdmit);
  CHECK(gate.Open(kPrimaryAgain, 43, "s", t0 + milliseconds(10)));
  // The old connection's messages no longer belong.
  CHECK_FALSE(gate.Admit(kPrimary, 42, t0 + milliseconds(20)));
  CHECK(gate.Admit(kPrimaryAgain, 43, t0 + milliseconds(20)));
}

TEST_CASE("A session silent past the dead timeout may be taken over") {
  rvg::SessionGate gate(Options());
  Clock::time_point t0 = Clock::now();
  gate.ScreenHello(kStranger, t0);
  gate.Open(kStranger, 7, "s", t0);
  rvg::PeerId other{"conn-other-insecure", ""};
  CHECK(gate.ScreenHello(other, t0 + milliseconds(4000)) == Screen::kBusy);
  CHECK(gate.ScreenHello(other, t0 + milliseconds(5001)) == Screen::kAdmit);
}

TEST_CASE("Messages of the session must come from its connection, key and id") {
  rvg::SessionGate gate(Options());
  Clock::time_point t0 = Clock::now();
  CHECK_FALSE(gate.Admit(kPrimary, 42, t0));  // no session yet
  gate.ScreenHello(kPrimary, t0);
  gate.Open(kPrimary, 42, "s", t0);
  CHECK(gate.Admit(kPrimary, 42, t0));
  CHECK_FALSE(gate.Admit(kPrimary, 41, t0));               // wrong id
  CHECK_FALSE(gate.Admit(kStranger, 42, t0));              // stolen id, other connection
  CHECK_FALSE(gate.Admit({kPrimary.connection, ""}, 42, t0));  // same routing id, no key
  gate.Close();
  CHECK_FALSE(gate.Admit(kPrimary, 42, t0));
}

TEST_CASE("Reopening on the same connection and id is not a session change") {
  rvg::SessionGate gate(Options());
  Clock::time_point t0 = Clock::now();
  gate.ScreenHello(kPrimary, t0);
  CHECK(gate.Open(kPrimary, 42, "s", t0));
  CHECK_FALSE(gate.Open(kPrimary, 42, "s", t0 + milliseconds(1)));
  CHECK(gate.Open(kPrimary, 43, "s", t0 + milliseconds(2)));
}

TEST_CASE("A HELLO flood is cut to the burst per window") {
  rvg::SessionGate gate(Options());
  Clock::time_point t0 = Clock::now();
  int admitted = 0;
  int flooded = 0;
  for (int i = 0; i < 1000; ++i) {
    Screen s = gate.ScreenHello(kStranger, t0 + milliseconds(i % 500));
    admitted += s == Screen::kAdmit;
    flooded += s == Screen::kFlood;
  }
  CHECK(admitted == 5);
  CHECK(flooded == 995);
  // The next window admits again: the real primary is not locked out.
  CHECK(gate.ScreenHello(kPrimary, t0 + milliseconds(1500)) == Screen::kAdmit);
}

TEST_CASE("Refusals are answered at most at the reply rate") {
  rvg::SessionGate gate(Options());
  Clock::time_point t0 = Clock::now();
  int answered = 0;
  for (int i = 0; i < 100; ++i) answered += gate.AllowReply(kStranger, t0 + milliseconds(i));
  CHECK(answered == 3);
  CHECK(gate.AllowReply(kStranger, t0 + milliseconds(1200)));
}

TEST_CASE("A flood does not silence the session's own peer") {
  rvg::SessionGate gate(Options());
  Clock::time_point t0 = Clock::now();
  gate.ScreenHello(kPrimary, t0);
  gate.Open(kPrimary, 42, "s", t0);
  for (int i = 0; i < 100; ++i) gate.ScreenHello(kStranger, t0 + milliseconds(1));
  for (int i = 0; i < 100; ++i) gate.AllowReply(kStranger, t0 + milliseconds(1));
  CHECK(gate.ScreenHello(kStranger, t0 + milliseconds(2)) == Screen::kFlood);
  CHECK(gate.ScreenHello(kPrimaryAgain, t0 + milliseconds(2)) == Screen::kAdmit);
  CHECK(gate.ScreenHello(kPrimary, t0 + milliseconds(2)) == Screen::kAdmit);
  CHECK(gate.AllowReply(kPrimary, t0 + milliseconds(2)));
  CHECK_FALSE(gate.AllowReply(kStranger, t0 + milliseconds(2)));
}
