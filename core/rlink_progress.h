// RlinkProgress: how far one RLINK has got, shared between its sender (which
// moves it forward) and the engine (which may free SRL space only behind the
// slowest RLINK's data ack) and status reporting.
//
// Invariant: data_acked <= net_acked <= sent is NOT guaranteed across a
// reconnect (sent is rewound to the secondary's resume point), but each of
// net_acked and data_acked only ever grows.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace rvg {

// kFailed: replication stopped on an error that retrying cannot cure (the
// secondary's applier failed, or a record read back from the SRL is
// damaged); the reason is in the RLINK's last error and the log.
enum class RlinkState { kDisconnected, kConnected, kPaused, kStale, kDcm, kResyncing, kFailed };

inline const char* RlinkStateName(RlinkState s) {
  switch (s) {
    case RlinkState::kDisconnected: return "disconnected";
    case RlinkState::kConnected: return "connected";
    case RlinkState::kPaused: return "paused";
    case RlinkState::kStale: return "stale";
    case RlinkState::kDcm: return "dcm";
    case RlinkState::kResyncing: return "resyncing";
    case RlinkState::kFailed: return "failed";
  }
  return "disconnected";
}

struct RlinkProgress {
  explicit RlinkProgress(std::string rlink_name) : name(std::move(rlink_name)) {}

  const std::string name;
  std::atomic<RlinkState> state{RlinkState::kDisconnected};
  std::atomic<uint64_t> sent_seq{0};
  std::atomic<uint64_t> net_acked_seq{0};
  std::atomic<uint64_t> data_acked_seq{0};

  // Raises `field` to `value` if that is higher (acks may arrive reordered
  // relative to a reconnect's rewind).
  static void Raise(std::atomic<uint64_t>& field, uint64_t value) {
    uint64_t cur = field.load();
    while (cur < value && !field.compare_exchange_weak(cur, value)) {
    }
  }
};

}  // namespace rvg
