#include "core/rlink_policy.h"

#include <cmath>

namespace rvg {

namespace {

Status Unknown(const std::string& key, const std::string& value) {
  return Status::Error("state.db holds an unknown " + key + " \"" + value +
                           "\" for an RLINK; set it again with rvgadm set",
                       EINVAL);
}

bool ParseProtection(const std::string& text, Protection* out) {
  if (text == "off") *out = Protection::kOff;
  else if (text == "override") *out = Protection::kOverride;
  else if (text == "fail") *out = Protection::kFail;
  else return false;
  return true;
}

bool ParseSrlProt(const std::string& text, SrlProt* out) {
  if (text == "autodcm") *out = SrlProt::kAutoDcm;
  else if (text == "dcm") *out = SrlProt::kDcm;
  else if (text == "fail") *out = SrlProt::kFail;
  else if (text == "override") *out = SrlProt::kOverride;
  else if (text == "off") *out = SrlProt::kOff;
  else return false;
  return true;
}

}  // namespace

Result<RlinkPolicy> ParseRlinkPolicy(const std::string& synchronous, const std::string& sync_ack,
                                     double ack_timeout_s, const std::string& latencyprot,
                                     uint64_t latency_high_mark, uint64_t latency_low_mark,
                                     const std::string& srlprot, uint64_t bandwidth_limit) {
  RlinkPolicy p;
  if (!ParseProtection(synchronous, &p.synchronous)) return Unknown("synchronous", synchronous);
  if (sync_ack == "received") p.sync_ack = SyncAck::kReceived;
  else if (sync_ack == "durable") p.sync_ack = SyncAck::kDurable;
  else return Unknown("sync_ack", sync_ack);
  if (!ParseProtection(latencyprot, &p.latencyprot)) return Unknown("latencyprot", latencyprot);
  if (!ParseSrlProt(srlprot, &p.srlprot)) return Unknown("srlprot", srlprot);
  // A week is longer than any write should wait, and keeps the deadline
  // arithmetic far from overflow.
  constexpr double kMaxTimeoutS = 7 * 24 * 3600.0;
  if (!std::isfinite(ack_timeout_s) || ack_timeout_s <= 0) {
    return Unknown("ack_timeout", std::to_string(ack_timeout_s));
  }
  p.ack_timeout = std::chrono::milliseconds(
      static_cast<int64_t>(std::ceil(std::min(ack_timeout_s, kMaxTimeoutS) * 1000)));
  if (latency_low_mark >= latency_high_mark) {
    return Status::Error("state.db holds latency_low_mark " + std::to_string(latency_low_mark) +
                             " not below latency_high_mark " + std::to_string(latency_high_mark) +
                             "; set them again with rvgadm set",
                         EINVAL);
  }
  p.latency_high_mark = latency_high_mark;
  p.latency_low_mark = latency_low_mark;
  p.bandwidth_limit = bandwidth_limit;
  return p;
}

const char* ProtectionName(Protection p) {
  switch (p) {
    case Protection::kOff: return "off";
    case Protection::kOverride: return "override";
    case Protection::kFail: return "fail";
  }
  return "off";
}

const char* SyncAckName(SyncAck a) { return a == SyncAck::kDurable ? "durable" : "received"; }

const char* SrlProtName(SrlProt p) {
  switch (p) {
    case SrlProt::kAutoDcm: return "autodcm";
    case SrlProt::kDcm: return "dcm";
    case SrlProt::kFail: return "fail";
    case SrlProt::kOverride: return "override";
    case SrlProt::kOff: return "off";
  }
  return "autodcm";
}

}  // namespace rvg
