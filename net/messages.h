// The RLINK wire protocol: msgpack messages between a primary's
// RlinkSender and a secondary's RlinkReceiver over ZeroMQ.
//
// Every ZeroMQ message is one header frame (a msgpack map, at most
// kMaxHeaderBytes) optionally followed by one data frame (WRITE only, the raw
// bytes of the write, zero-copy from the primary's buffer). The header map
// always has "t" (message type) and "v" (protocol version); the remaining
// keys are per type and documented in doc/wire-protocol.md. Unknown keys are
// ignored (forward compatibility); a missing or ill-typed key is an error.
//
// Decode*() never throws and never trusts its input: malformed msgpack,
// wrong types, oversized frames and out-of-range values all come back as a
// Status whose message says what was wrong. Validation against the RVG
// (uuid, generation, session, volume ranges, data checksum) is separate:
// ValidateWrite().
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/generation_history.h"
#include "core/status.h"
#include "core/volume.h"

namespace rvg {

// 2: REGION and RESYNC (bitmap resync), ACK carries regions done.
// 3: COMPARE and COMPARED (checksum resync, verify).
// 4: generation histories and host names in HELLO and WELCOME; a REJECT
//    may carry the refuser's history (doc/failover.md).
// 5: HANDOVER and HANDED (migrate: a planned switch of roles).
inline constexpr uint32_t kProtocolVersion = 5;
inline constexpr size_t kMaxHeaderBytes = 64 * 1024;

enum class MsgType : uint8_t {
  kHello = 1,    // primary -> secondary: open a session
  kWelcome = 2,  // secondary -> primary: session accepted, resume point
  kReject = 3,   // either way: session refused or dropped, with a reason
  kWrite = 4,    // primary -> secondary: one sequenced write (+ data frame)
  kAck = 5,      // secondary -> primary: network ack and data ack
  kNack = 6,     // secondary -> primary: please resend [from_seq, to_seq]
  kPing = 7,     // primary -> secondary: keepalive, carries the primary's synced seq
  kRegion = 8,   // primary -> secondary: one region's contents in a resync (+ data frame)
  kResync = 9,   // primary -> secondary: a bitmap resync begins, or ends at a seq
  kCompare = 10,   // primary -> secondary: the hash of a range, to compare with the secondary's
  kCompared = 11,  // secondary -> primary: the outcome of one COMPARE
  kDirty = 12,     // secondary -> primary: ranges a fast failback must resync (before WELCOME)
  kHandover = 13,  // primary -> secondary: take over from me (migrate), I hold nothing newer
  kHanded = 14,    // secondary -> primary: the answer to a HANDOVER
};

struct VolumeInfo {
  uint32_t id = 0;
  std::string name;
  uint64_t size = 0;

  bool operator==(const VolumeInfo&) const = default;
};

struct HelloMsg {
  std::string rvg_name;
  std::string rvg_uuid;
  std::string generation;
  std::string rlink_name;        // the name the primary gives this secondary
  uint64_t session_id = 0;       // random, non-zero, chosen by the primary
  uint64_t last_seq = 0;         // primary's newest synced seq
  uint64_t first_seq = 0;        // oldest seq the primary's SRL still holds
  std::vector<VolumeInfo> volumes;
  std::string host{};            // the primary's own name ("" if it has none)
  GenerationHistory history{};   // the primary's, newest last (never empty)
  // Three hosts (doc/failover.md): non-zero when this RLINK's bitmap holds
  // every region the line replaced by the primary's wrote from this seq
  // on (the previous source's report, or every region), so a secondary
  // holding seqs of that line it cannot list may roll them back without
  // its own report. Optional on the wire ("covered", absent: 0).
  uint64_t covered_from = 0;

  bool operator==(const HelloMsg&) const = default;
};

struct WelcomeMsg {
  std::string rvg_uuid;
  std::string generation;
  uint64_t session_id = 0;
  uint64_t applied_seq = 0;  // the secondary resumes at applied_seq + 1
  std::string host{};          // the secondary's own name ("" if it has none)
  GenerationHistory history{};  // the secondary's, after any adoption (never empty)
  // A fast failback (doc/failover.md): non-zero when this secondary holds
  // seqs from fork_seq on of a line the primary's replaced; the DIRTY
  // messages before this WELCOME listed the ranges they wrote. Optional on
  // the wire ("fork", absent: 0).
  uint64_t fork_seq = 0;

  bool operator==(const WelcomeMsg&) const = default;
};

struct RejectMsg {
  uint64_t session_id = 0;  // 0 when no session applies
  std::string reason;       // one line for the administrator
  bool retry = true;        // false: do not retry until an admin acts
  // Optional: a refusal decided by generation histories carries the
  // refuser's history and last seq, and whether it is itself a primary
  // (so an old primary learns it was replaced). Empty history: none.
  GenerationHistory history{};
  uint64_t last_seq = 0;
  bool primary = false;

  bool operator==(const RejectMsg&) const = default;
};

// A WRITE, or (region true: type REGION) one region's current contents in
// a bitmap resync, where `seq` numbers the regions of the session from 1.
struct WriteMsg {
  std::string rvg_uuid;
  std::string generation;
  uint64_t session_id = 0;
  uint64_t seq = 0;
  uint32_t volume = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t data_crc = 0;
  bool region = false;
  // A writer on the primary waits for this record's data ack (the RLINK is
  // synchronous in effect with sync_ack=durable): the secondary syncs it in
  // its SRL at once. false lets the secondary group that sync with later
  // records (SecondaryApplier's lazy SRL sync). Optional on the wire
  // (key "wait", sent only when false): absent means true, the behaviour
  // of before the key existed. Ignored for a REGION.
  bool waited = true;

  bool operator==(const WriteMsg&) const = default;
};

struct AckMsg {
  uint64_t session_id = 0;
  uint64_t received_seq = 0;  // network ack: every seq <= it is in memory
  uint64_t applied_seq = 0;   // data ack: every seq <= it is applied and synced
  uint64_t regions_done = 0;  // resync: every REGION numbered <= it is on the synced images

  bool operator==(const AckMsg&) const = default;
};

struct NackMsg {
  uint64_t session_id = 0;
  uint64_t from_seq = 0;
  uint64_t to_seq = 0;  // inclusive, >= from_seq

  bool operator==(const NackMsg&) const = default;
};

struct PingMsg {
  uint64_t session_id = 0;
  uint64_t last_seq = 0;

  bool operator==(const PingMsg&) const = default;
};

// A bitmap resync: `begin` (the secondary is inconsistent from now on and
// REGIONs follow) or its end at `seq` (every region was sent; the images
// now hold the primary's history up to seq, and ordered WRITEs go on from
// seq + 1). The end is numbered like a REGION (`number`, one past the last
// region): the secondary's ACK reaches that number only once the end is
// durable — its applied seq alone cannot say so, since it may already
// have been past seq through writes sent before the resync began.
struct ResyncMsg {
  uint64_t session_id = 0;
  bool begin = false;
  uint64_t seq = 0;
  uint64_t number = 0;

  bool operator==(const ResyncMsg&) const = default;
};

// Why a range is compared.
enum class CompareKind : uint8_t {
  // In a resync, numbered among the session's REGIONs and processed in
  // their order: a range found equal needs no data (COMPARED lists it as
  // the same before the ACK that counts it done); for any other the
  // primary then sends its data as a REGION.
  kResync = 1,
  // Online verify, numbered on its own: the secondary hashes the range once
  // it has applied every write up to `after_seq`, and reports the outcome
  // and the seq its images were at.
  kVerify = 2,
};

// COMPARE: XXH3-128 of the primary's bytes of a range (hash_high:hash_low).
struct CompareMsg {
  uint64_t session_id = 0;
  CompareKind kind = CompareKind::kResync;
  uint64_t number = 0;
  uint32_t volume = 0;
  uint64_t offset = 0;
  uint32_t length = 0;  // 1..kMaxWriteBytes
  uint64_t hash_high = 0;
  uint64_t hash_low = 0;
  uint64_t after_seq = 0;  // verify only (0 for a resync)
  bool operator==(const CompareMsg&) const = default;
};

// COMPARED: the secondary's answers to COMPAREs of one `kind`, by number:
// those it found the same and those it found different (at most
// kMaxComparedNumbers in all). An answer may be lost (a full send queue on
// the secondary drops replies): a resync treats a check its ACK counts
// without a "same" answer as different (its data is sent), and a verify
// gives up when answers stop coming.
inline constexpr size_t kMaxComparedNumbers = 1024;
struct ComparedMsg {
  uint64_t session_id = 0;
  CompareKind kind = CompareKind::kResync;
  uint64_t seq = 0;  // verify: the secondary's applied seq when it hashed
  std::vector<uint64_t> same;
  std::vector<uint64_t> differ;
  bool operator==(const ComparedMsg&) const = default;
};

// DIRTY: byte ranges of volumes that a fast failback must resync, sent by
// a secondary that holds writes of a replaced line, in the session its
// HELLO opened and before its WELCOME; at most kMaxDirtyExtents a message.
inline constexpr size_t kMaxDirtyExtents = 1024;
struct DirtyExtent {
  uint32_t volume = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  bool operator==(const DirtyExtent&) const = default;
};
struct DirtyMsg {
  uint64_t session_id = 0;
  std::vector<DirtyExtent> extents;
  bool operator==(const DirtyMsg&) const = default;
};

// HANDOVER (migrate, doc/failover.md): the primary of the session has
// stopped taking writes, its newest seq is `seq` and the secondary has
// data-acked it; the secondary is to become primary of a new generation
// starting at seq + 1 whose parent is `generation` (the session's), and
// to mount its volumes at `mount` ("" = its own recorded mountpoint).
inline constexpr size_t kMaxMountPathBytes = 1000;
struct HandoverMsg {
  uint64_t session_id = 0;
  uint64_t seq = 0;
  std::string generation;
  std::string mount;
  bool operator==(const HandoverMsg&) const = default;
};

// HANDED: the secondary's answer to a HANDOVER. Accepted: it is becoming
// primary of `generation` from seq `start_seq` (the HANDOVER's seq + 1)
// and takes nothing more from this session. Refused: `reason` says why,
// and it stays the secondary of this primary.
struct HandedMsg {
  uint64_t session_id = 0;
  bool accepted = false;
  std::string generation;  // "" when refused
  uint64_t start_seq = 0;  // 0 when refused
  std::string reason;
  bool operator==(const HandedMsg&) const = default;
};

// Equality compares every field; decode(encode(m)) == m for every valid m.
using Message = std::variant<HelloMsg, WelcomeMsg, RejectMsg, WriteMsg, AckMsg, NackMsg, PingMsg,
                             ResyncMsg, CompareMsg, ComparedMsg, DirtyMsg, HandoverMsg, HandedMsg>;

// Encoders return the header frame.
std::string Encode(const HelloMsg& m);
std::string Encode(const WelcomeMsg& m);
std::string Encode(const RejectMsg& m);
std::string Encode(const WriteMsg& m);
std::string Encode(const AckMsg& m);
std::string Encode(const NackMsg& m);
std::string Encode(const PingMsg& m);
std::string Encode(const ResyncMsg& m);
std::string Encode(const CompareMsg& m);
std::string Encode(const ComparedMsg& m);
std::string Encode(const DirtyMsg& m);
std::string Encode(const HandoverMsg& m);
std::string Encode(const HandedMsg& m);

// Decodes a header frame. Checks structure, types, protocol version and
// value sanity (session ids non-zero, lengths <= kMaxWriteBytes, from <= to,
// uuid/generation/name lengths bounded, at most 1024 volumes, ...).
Result<Message> DecodeHeader(const void* data, size_t size);

// What a secondary checks before it accepts a WRITE of its current session:
// rvg uuid, generation and session match; the volume exists; offset+length
// lies inside it (no overflow); the data frame has exactly `length` bytes;
// CRC-32C of the data equals data_crc.
Status ValidateWrite(const WriteMsg& m, const std::string& rvg_uuid, const std::string& generation,
                     uint64_t session_id, const std::vector<VolumeSpec>& volumes,
                     const void* data, size_t data_size);

}  // namespace rvg
