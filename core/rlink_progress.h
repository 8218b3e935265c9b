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

}  // namespace rvg
