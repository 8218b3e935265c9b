// RlinkPolicy: the replication attributes of one RLINK (DESIGN.md,
// "Replication attributes") in the form the engine acts on. state.db keeps
// them as text; ParseRlinkPolicy turns that text into this, and is the one
// place that knows the spellings.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace rvg {

// synchronous=off|override|fail, latencyprot=off|override|fail.
enum class Protection { kOff, kOverride, kFail };

// What a synchronous RLINK waits for: the network ack (the secondary holds
// the write in memory; DRBD protocol B) or the data ack (it is in the
// secondary's image; protocol C).
enum class SyncAck { kReceived, kDurable };

// srlprot: what happens when the SRL cannot take a write without losing a
// record this RLINK still needs.
enum class SrlProt { kAutoDcm, kDcm, kFail, kOverride, kOff };

struct RlinkPolicy {
  Protection synchronous = Protection::kOff;
  SyncAck sync_ack = SyncAck::kReceived;
  std::chrono::milliseconds ack_timeout{5000};
  Protection latencyprot = Protection::kOff;
  // Writes waiting in the SRL for this secondary (not yet data-acked). A
  // write that would bring the backlog to the high mark is held back
  // (or failed); once held back, writes go on when it is below the low mark.
  uint64_t latency_high_mark = 10000;
  uint64_t latency_low_mark = 9000;
  SrlProt srlprot = SrlProt::kAutoDcm;
  uint64_t bandwidth_limit = 0;  // bytes/s of replication and resync traffic, 0 = none
};

// From state.db's text values (already checked by state/config_check, but a
// damaged database still gets a clear error here, not a default).
Result<RlinkPolicy> ParseRlinkPolicy(const std::string& synchronous, const std::string& sync_ack,
                                     double ack_timeout_s, const std::string& latencyprot,
                                     uint64_t latency_high_mark, uint64_t latency_low_mark,
                                     const std::string& srlprot, uint64_t bandwidth_limit);

const char* ProtectionName(Protection p);
const char* SyncAckName(SyncAck a);
const char* SrlProtName(SrlProt p);

}  // namespace rvg
