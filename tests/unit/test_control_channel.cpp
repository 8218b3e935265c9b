// Tests for net/control_channel: a real ControlServer on an ipc socket in
// a temp dir. The socket is private, slow requests do not hold up others,
// hostile requests get an error reply and the server keeps answering.
#include "net/control_channel.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "net/control_codec.h"
#include "temp_dir.h"

namespace rvg {
namespace {

using Catch::Matchers::Contains;

using testing::TempDir;

// A server on its own thread whose "slow" command waits until released.
class Served {
 public:
  Served() : endpoint_("ipc://" + dir_.path() + "/t.ctl") {
    auto server = ControlServer::Bind(endpoint_);
    INFO(server.status().message());
    REQUIRE(server.ok());
    server_ = std::move(*server);
    thread_ = std::thread([this] {
      server_->Serve([this](const nlohmann::json& req) -> ControlServer::Answer {
        std::string cmd = req.value("cmd", "");
        if (cmd == "slow") {
          return ControlServer::Answer::Later([this] {
            ++slow_started_;
            while (!released_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
            return nlohmann::json{{"ok", true}, {"slow", true}};
          });
        }
        return nlohmann::json{{"ok", true}, {"echo", cmd}};
      });
    });
  }
  ~Served() {
    released_ = true;
    StopServing();
  }
  void StopServing() {
    if (!thread_.joinable()) return;
    server_->Stop();
    thread_.join();
  }
  Result<nlohmann::json> Call(const std::string& cmd, int timeout_ms = 5000) {
    return ControlCall(endpoint_, {{"cmd", cmd}}, timeout_ms);
  }
  std::string SocketPath() const { return dir_.path() + "/t.ctl"; }

  TempDir dir_;
  std::string endpoint_;
  std::unique_ptr<ControlServer> server_;
  std::thread thread_;
  std::atomic<bool> released_{false};
  std::atomic<int> slow_started_{0};  // "slow" requests the server has begun
};

// Polls until `n` slow requests are running on the server, or fails.
void WaitForSlowRequests(const Served& s, int n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (s.slow_started_.load() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(s.slow_started_.load() >= n);
}

// Sends raw frames as a REQ peer would ([empty delimiter] + `frames`) and
// returns the decoded reply, or an error after `timeout_ms`.
Result<nlohmann::json> RawCall(const std::string& endpoint,
                               const std::vector<std::vector<uint8_t>>& frames,
                               int timeout_ms = 5000) {
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.connect(endpoint);
  socket.send(zmq::message_t(), zmq::send_flags::sndmore);
  for (size_t i = 0; i < frames.size(); ++i) {
    socket.send(zmq::message_t(frames[i].data(), frames[i].size()),
                i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) == 0) {
    return Status::Error("no reply");
  }
  zmq::message_t delimiter, body;
  (void)socket.recv(delimiter);
  (void)socket.recv(body);
  return DecodeControlMessage(body.data(), body.size());
}

TEST_CASE("the control socket file is private to its owner") {
  Served s;
  struct stat st;
  REQUIRE(::stat(s.SocketPath().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto reply = s.Call("ping");
  INFO(reply.status().message());
  REQUIRE(reply.ok());
  CHECK((*reply)["echo"] == "ping");
}

TEST_CASE("a slow request does not hold up the others, and is answered when done") {
  Served s;
  auto slow = std::async(std::launch::async, [&] { return s.Call("slow", 20000); });
  // Answered while the slow one is pending (with REP, this waited for it).
  for (int i = 0; i < 5; ++i) {
    auto reply = s.Call("status", 2000);
    INFO(reply.status().message());
    REQUIRE(reply.ok());
    CHECK((*reply)["echo"] == "status");
  }
  CHECK(slow.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
  s.released_ = true;
  auto reply = slow.get();
  REQUIRE(reply.ok());
  CHECK((*reply)["slow"] == true);
}

TEST_CASE("slow requests still running when serving stops are answered by FinishDeferred") {
  Served s;
  auto slow = std::async(std::launch::async, [&] { return s.Call("slow", 20000); });
  // Only a request the server has begun is one it must finish.
  WaitForSlowRequests(s, 1);
  s.StopServing();
  s.released_ = true;
  s.server_->FinishDeferred();
  auto reply = slow.get();
  REQUIRE(reply.ok());
  CHECK((*reply)["slow"] == true);
}

TEST_CASE("the number of slow requests at once is capped") {
  Served s;
  std::vector<std::future<Result<nlohmann::json>>> slow;
  for (size_t i = 0; i < kMaxDeferredRequests; ++i) {
    slow.push_back(std::async(std::launch::async, [&] { return s.Call("slow", 20000); }));
  }
  // Every slow request has arrived once one more is refused; poll for it.
  Result<nlohmann::json> extra = Status::Error("not tried");
  for (int i = 0; i < 200; ++i) {
    extra = s.Call("slow", 2000);
    if (extra.ok() && !(*extra)["ok"].get<bool>()) break;
  }
  REQUIRE(extra.ok());
  CHECK((*extra)["ok"] == false);
  CHECK_THAT((*extra)["error"].get<std::string>(), Contains("running already"));
  s.released_ = true;
  for (auto& f : slow) CHECK(f.get().ok());
}

TEST_CASE("hostile requests get an error reply and the server keeps serving") {
  Served s;
  // 300 KB of nested arrays: overflowed rvgd's stack through from_msgpack.
  std::vector<uint8_t> nested = {0x81, 0xa1, 'k'};
  nested.insert(nested.end(), 300 * 1024, 0x91);
  nested.push_back(0xc0);
  auto reply = RawCall(s.endpoint_, {nested});
  REQUIRE(reply.ok());
  CHECK((*reply)["ok"] == false);
  CHECK_THAT((*reply)["error"].get<std::string>(), Contains("nested deeper"));

  // Many frames in one request: refused, counted, not kept.
  std::vector<std::vector<uint8_t>> frames(2000, EncodeControlMessage({{"cmd", "ping"}}));
  reply = RawCall(s.endpoint_, frames);
  REQUIRE(reply.ok());
  CHECK((*reply)["ok"] == false);
  CHECK_THAT((*reply)["error"].get<std::string>(), Contains("got 2000"));

  reply = RawCall(s.endpoint_, {{0x92, 0x01, 0x02}});  // an array, not a map
  REQUIRE(reply.ok());
  CHECK((*reply)["ok"] == false);

  reply = s.Call("status");
  REQUIRE(reply.ok());
  CHECK((*reply)["echo"] == "status");
}

TEST_CASE("control timeouts are finite, not negative and at most a week") {
  for (double ok : {0.0, 0.5, 60.0, kMaxControlTimeoutSeconds}) {
    CHECK(CheckControlTimeout(ok, "t").ok());
  }
  for (double bad : {-1.0, kMaxControlTimeoutSeconds + 1, 1e300,
                     std::numeric_limits<double>::infinity(),
                     std::numeric_limits<double>::quiet_NaN()}) {
    Status st = CheckControlTimeout(bad, "--timeout");
    CHECK_FALSE(st.ok());
    CHECK_THAT(st.message(), Contains("--timeout"));
  }
}

}  // namespace
}  // namespace rvg
