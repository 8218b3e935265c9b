// RlinkProgress: how far one RLINK has got. Its sender moves sent_seq;
// RlinkSet moves the acked seqs as acks arrive; the engine's window and
// read-back logic and status read them without a lock.
//
// Invariant: data_acked <= net_acked <= sent is NOT guaranteed across a
// reconnect (sent is rewound to the secondary's resume point), but each of
// net_acked and data_acked only ever grows.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace rvg {

struct RlinkProgress {
  explicit RlinkProgress(std::string rlink_name) : name(std::move(rlink_name)) {}

  const std::string name;
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

// A bitmap resync under way on one RLINK, for status: bytes the secondary
// acknowledged out of what the bitmap owed when the resync began, and the
// rate over the last few seconds (RateMeter) with the ETA it gives.
struct ResyncProgress {
  uint64_t done = 0;
  uint64_t total = 0;
  std::optional<double> rate;   // bytes/s; nullopt while unknown
  std::optional<double> eta_s;  // seconds; nullopt while unknown (or stalled)
};

// What one RLINK's resyncs and verifies did since rvgd started (kept in
// memory only; status shows them).
struct ResyncCounters {
  uint64_t resync_bytes_sent = 0;   // data bytes of REGION messages sent
  uint64_t regions_identical = 0;   // regions found identical by hash, not sent
  uint64_t regions_zero = 0;        // all-zero on both hosts, not sent
  uint64_t verify_bytes_sent = 0;   // COMPARE messages of verifies (no data travels)
};

}  // namespace rvg
