// RlinkReceiver: the secondary's end of the RLINKs. A thread that owns a
// ZeroMQ ROUTER socket bound to the RVG's listen endpoint, accepts one
// primary session at a time, validates every message, hands valid writes to
// the SecondaryApplier and acknowledges: a network ack as soon as writes are
// in memory, a data ack whenever the applier has synced more.
//
// Anything that does not belong — malformed frames, another RVG's HELLO, a
// WRITE outside the current session or failing validation — is logged
// (rate-limited), counted and dropped; it never reaches the images.
//
// The first primary to connect to a secondary that has never been bound
// binds it: its RVG uuid and generation are persisted through the binder and
// from then on only that RVG is accepted.
//
// When the applier stops for good (its health() turns bad: an I/O error on
// the SRL or an image, a state database that cannot be written), the
// receiver tells the primary at once: the current session gets a REJECT
// with retry=false and the reason ("secondary cannot apply writes: WHY; fix
// it and restart rvgd on the secondary") and is closed, and every later
// HELLO gets the same answer. The primary marks its RLINK failed with that
// reason rather than resending into a secondary that cannot take writes.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "core/secondary_applier.h"
#include "core/volume.h"
#include "net/log_limiter.h"
#include "net/messages.h"
#include "net/wakeup.h"

namespace rvg {

struct RlinkReceiverConfig {
  std::string rvg_name;
  std::string listen;
  std::string rvg_uuid;    // "" while unbound
  std::string generation;  // "" while unbound
  std::vector<VolumeSpec> volumes;
  std::chrono::milliseconds nack_after{500};
};

// Persists the binding of an unbound secondary to its first primary.
using BindFunction = std::function<Status(const std::string& uuid, const std::string& generation)>;

class RlinkReceiver {
 public:
  RlinkReceiver(RlinkReceiverConfig config, SecondaryApplier* applier, BindFunction bind,
                zmq::context_t* context);
  ~RlinkReceiver();

  // Binds the listen endpoint (a clear error if it is taken) and starts.
  Status Start();
  void Stop();

  // Wakes the receiver to send a data ack (the applier calls this).
  void NotifyApplied() { wakeup_->Signal(); }

  std::string peer() const;            // current session ("" if none)
  uint64_t rejected_messages() const { return rejected_.load(); }
  std::string uuid() const;
  std::string generation() const;

 private:
  struct Session {
    std::string identity;  // ROUTER routing id of the primary's socket
    uint64_t id = 0;
    std::string rlink_name;
  };

  void Run();
  void HandleMessage(std::vector<zmq::message_t>& frames);
  void OnHello(const std::string& identity, const HelloMsg& h);
  void OnWrite(const std::string& identity, const WriteMsg& m, const zmq::message_t* data);
  Status CheckHello(const HelloMsg& h);
  void Reply(const std::string& identity, const std::string& header);
  void Reject(const std::string& identity, uint64_t session_id, const std::string& why,
              bool retry);
  void Drop(const std::string& why);
  void CheckApplier();
  void SendAck();
  void MaybeNack();

  RlinkReceiverConfig config_;
  SecondaryApplier* const applier_;
  const BindFunction bind_;
  zmq::context_t* const context_;
  const std::shared_ptr<Wakeup> wakeup_;

  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> rejected_{0};
  std::thread thread_;
  std::unique_ptr<zmq::socket_t> socket_;

  mutable std::mutex mu_;  // guards session_ and config_'s uuid/generation for readers
  Session session_;

  // Owned by the receiver thread.
  LogLimiter drop_log_{20, std::chrono::seconds(10)};
  bool applier_failed_ = false;  // the session was refused for good
  uint64_t acked_received_ = 0;
  uint64_t acked_applied_ = 0;
  bool ack_due_ = false;
  std::pair<uint64_t, uint64_t> gap_{0, 0};
  std::chrono::steady_clock::time_point gap_since_;
};

}  // namespace rvg
