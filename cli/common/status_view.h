// StatusView: the one place that shapes an RVG's status, for both rvgd (live
// figures, answered over the control channel) and rvgadm (from state.db
// while rvgd is stopped), and renders it as JSON (`status --json`, the
// fields DESIGN.md lists) or as a table for people.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/latency_histogram.h"
#include "core/rlink_progress.h"
#include "core/undo_area.h"
#include "state/state_db.h"

namespace rvg {

// What a running primary measured on one RLINK since rvgd started.
struct RlinkMeasures {
  LatencyHistogram::Snapshot net_ack, data_ack;  // ack latencies (AckTimer)
  // (name, count) of every reason and kind, zeros included.
  std::vector<std::pair<const char*, uint64_t>> rejected_by_reason, errors;
};

struct RlinkLive {
  RlinkConfig config;            // attributes, state and seqs (live ones on rvgd)
  uint64_t writes_behind = 0;    // last_seq - data_acked_seq
  uint64_t bytes_behind = 0;     // SRL bytes of those writes
  std::optional<ResyncProgress> resync;    // a bitmap resync under way
  std::optional<ResyncCounters> counters;  // since rvgd started; nullopt while stopped
  std::optional<RlinkMeasures> measures;   // likewise
  // Live figures, known only while rvgd runs.
  std::optional<bool> sync_effective;      // replicating synchronously now
  std::optional<bool> latency_protection;  // latencyprot holds writes back or fails them
  // srlprot acts: the RLINK is in DCM (or resyncing from it), or a full SRL
  // stalls writes for it (srlprot=dcm while connected).
  std::optional<bool> srl_protection;
  std::optional<double> seconds_behind;    // age of the oldest write not data-acked, 0: none
  std::optional<uint64_t> srl_used_bytes;  // SRL bytes of the writes not data-acked
  std::string sending_from;                // "memory" | "srl" | "" (nothing sent yet)
  std::optional<uint64_t> dcm_dirty_bytes; // bytes the RLINK's DCM marks as owed
};

struct RvgLive {
  RvgConfig config;
  bool running = false;          // rvgd serving this RVG
  int pid = 0;
  std::string mount;             // primary's mountpoint, "" if none
  bool consistent = true;        // false while a secondary is mid-resync
  uint64_t last_seq = 0;         // primary: newest seq; secondary: newest received
  uint64_t applied_seq = 0;      // secondary: synced in its SRL and applied (the data ack);
                                 // primary: = image-applied
  uint64_t srl_used = 0;         // bytes
  uint64_t srl_capacity = 0;     // bytes of its data area; 0: unknown (rvgd stopped)
  std::vector<FlagEntry> flags;
  std::vector<RlinkLive> rlinks;
  std::string primary_peer;      // secondary: the session's primary ("" if none)
  std::optional<UndoSummary> undo;  // secondary: its resync undo area, if any
};

// The `status --json` object. Keys: rvg, uuid, role, security
// ("curve" | "insecure" | "unpaired": the weakest of the RVG's links),
// primary_key (a secondary's pinned primary, else null), primary_session
// (a secondary's: the RLINK name of the primary's current session, else
// null), running, pid, mount, listen,
// durability, generation, consistent, last_seq, applied_seq,
// volumes[{name,path,size}], srl{path, size (of the file), used (bytes
// between tail and head), used_percent (of the log's data area, one
// decimal; null while rvgd is stopped)} (null only for a secondary created
// by an rvg older than state.db format 2, which has no SRL),
// flags{name: value}, undo{regions, bytes, seq} (a secondary's resync
// undo area: the saved pre-resync contents of `regions` regions, `bytes`
// bytes, that `rvgadm rollback` restores to the consistent copy at `seq`;
// null when there is none), rlinks[{name, address, synchronous, sync_ack,
// ack_timeout, latencyprot, latency_high_mark, latency_low_mark, srlprot,
// bandwidth_limit (bytes/s, 0 = none), state, synchronous_effective
// ("sync" | "async" | null while rvgd is stopped), protection{latency,
// srl} (latency: latency protection holds writes back; srl: srlprot acts —
// DCM, a resync from it, or writes stalled by srlprot=dcm; null while
// stopped),
// sent_seq, net_acked_seq, data_acked_seq, writes_behind, bytes_behind
// (data bytes of those writes), seconds_behind (age in seconds of the
// oldest write not yet data-acked, 0 when none; null while stopped),
// srl_used_bytes (SRL space those writes take, record headers and padding
// included, the filler where the log wraps not: the SRL space this RLINK
// still needs, which cannot be freed before it is data-acked; null while
// stopped), sending_from ("memory" |
// "srl": whether the last record sent came from the in-memory buffer or
// was read back from the SRL; null before the first record since rvgd
// started, and while stopped), resync{done, total (bytes acknowledged by
// the secondary, of what the bitmap owed when the resync began), rate
// (bytes/s over the last 10 s, null while unknown), eta_s (seconds left at
// that rate, null while unknown or stalled)}|null (null: no bitmap resync
// under way), counters{resync_bytes_sent, regions_identical, regions_zero,
// verify_bytes_sent, rejected_messages (messages from the secondary this
// primary dropped), rejected_by_reason{reason: count} (the reasons of
// core/link_counters.h, every one listed), errors{kind: count} (likewise)}
// (since rvgd started, in memory; null while stopped), latency{net_ack,
// data_ack} (each {le: [the 16 bucket bounds in seconds], buckets: [17
// cumulative counts: samples <= each bound, then all of them (+Inf)],
// sum_s, count}: per write, from its send to the ack that covered it;
// since rvgd started; null while stopped),
// dcm_dirty_bytes (bytes of regions its DCM owes it;
// null while stopped), security, peer_key}]. A running primary adds
// health, srl.full and each RLINK's last_error; a running secondary adds health, rejected_messages,
// rejected_by_reason{reason: count} and rejected_connections. README.md
// ("status --json") has the table.
nlohmann::json StatusJson(const RvgLive& live);

// {name: count, ...} of EnumCounters::Named() (rejected_by_reason, errors).
nlohmann::json NamedCountsJson(const std::vector<std::pair<const char*, uint64_t>>& counts);

// A readable multi-line table of the same object (what `status` prints).
std::string StatusTable(const nlohmann::json& status);

}  // namespace rvg
