// Link counters: how many network messages one end of a link rejected, by
// reason, and how many errors a primary's RLINK met, by kind — the
// `rejected_messages` and `errors` objects of `status --json` and the
// rvg_*rejected_messages_total / rvg_rlink_errors_total metrics.
//
// The reasons are shared by both ends (a primary's sender rejects what a
// secondary sends it, a secondary's receiver what a primary sends), so one
// name means one thing everywhere. Counting is a relaxed atomic increment:
// the counting thread (sender or receiver) is the only writer, status
// reads from another thread, and the counters are monotone, so a reader
// needs no lock and never sees one go back.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace rvg {

// Why a message was dropped (each site that drops one logs why, with
// details, rate-limited on the secondary).
enum class RejectReason : size_t {
  kMalformed,        // undecodable, the wrong number of frames, a type this end never takes
  kUnauthenticated,  // not from a pinned key (the ZapHandler's second line of defence)
  kInvalid,          // decodes, fails validation: another RVG or generation, a bad
                     // checksum, a range outside the volumes
  kSession,          // outside the current session: an unknown or old session id (acks
                     // still in flight at a reconnect), a second session, after a handover
  kRefused,          // a session refused: HELLO of another RVG, a volume layout that
                     // differs, a generation history, an applier that failed; a WELCOME
                     // for another RVG or generation
  kWindow,           // a WRITE too far ahead, or with no room in the receive buffer
                     // (the NACK path asks for it again)
  kResyncOrder,      // resync messages out of order (the session ends)
  kRateLimited,      // a HELLO over the rate limit
  kCount,
};
const char* RejectReasonName(RejectReason reason);  // "malformed", "resync_order", ...

// What went wrong on a primary's RLINK.
enum class LinkError : size_t {
  kHandshake,    // a handshake failed (a key not pinned, the wrong key, insecure vs CURVE)
  kTimeout,      // the secondary was silent for the dead timeout: the session dropped
  kRefused,      // the secondary refused or dropped the session (REJECT)
  kSocket,       // ZeroMQ refused to open a socket (out of descriptors, say)
  kSendBlocked,  // a send the socket refused (its queue full); retried later
  kSrlRead,      // a record could not be read back from the SRL
  kResyncRead,   // a resync could not read a region of a volume
  kCount,
};
const char* LinkErrorName(LinkError error);  // "handshake", "send_blocked", ...

template <typename Enum>
class EnumCounters {
 public:
  static constexpr size_t kSize = static_cast<size_t>(Enum::kCount);

  void Count(Enum which) {
    counts_[static_cast<size_t>(which)].fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t Get(Enum which) const {
    return counts_[static_cast<size_t>(which)].load(std::memory_order_relaxed);
  }
  uint64_t Total() const {
    uint64_t total = 0;
    for (const auto& c : counts_) total += c.load(std::memory_order_relaxed);
    return total;
  }
  // Every kind with its name, zeros included (a counter that exists from
  // the start is what Prometheus' rate() and increase() want).
  std::vector<std::pair<const char*, uint64_t>> Named(const char* (*name)(Enum)) const {
    std::vector<std::pair<const char*, uint64_t>> out;
    for (size_t i = 0; i < kSize; ++i) {
      out.emplace_back(name(static_cast<Enum>(i)), Get(static_cast<Enum>(i)));
    }
    return out;
  }

 private:
  std::array<std::atomic<uint64_t>, kSize> counts_{};
};

using RejectCounters = EnumCounters<RejectReason>;
using LinkErrorCounters = EnumCounters<LinkError>;

}  // namespace rvg
