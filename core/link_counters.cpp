#include "core/link_counters.h"

namespace rvg {

const char* RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kMalformed: return "malformed";
    case RejectReason::kUnauthenticated: return "unauthenticated";
    case RejectReason::kInvalid: return "invalid";
    case RejectReason::kSession: return "session";
    case RejectReason::kRefused: return "refused";
    case RejectReason::kWindow: return "window";
    case RejectReason::kResyncOrder: return "resync_order";
    case RejectReason::kRateLimited: return "rate_limited";
    case RejectReason::kCount: break;
  }
  return "unknown";
}

const char* LinkErrorName(LinkError error) {
  switch (error) {
    case LinkError::kHandshake: return "handshake";
    case LinkError::kTimeout: return "timeout";
    case LinkError::kRefused: return "refused";
    case LinkError::kSocket: return "socket";
    case LinkError::kSendBlocked: return "send_blocked";
    case LinkError::kSrlRead: return "srl_read";
    case LinkError::kResyncRead: return "resync_read";
    case LinkError::kCount: break;
  }
  return "unknown";
}

}  // namespace rvg
