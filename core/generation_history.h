// Generation histories and the rule table that decides, from two of them,
// which side of a handshake is ahead — doc/failover.md, "Deciding the
// direction", whose rows CompareHistories implements and whose numbers it
// reports.
//
// A generation begins whenever a host starts to take writes as primary
// under new circumstances (create, takeover, migrate, the first write after
// a session loss, force-online). A host's history is the chain of
// generations its data went through, oldest first: entry i+1's parent is
// entry i's uuid, and start_seq never decreases along it. Seqs continue
// across generations, so the generation of a seq on a host is the newest
// entry whose start_seq is at or below it.
//
// Pure functions on values: no I/O, no clock (created_at is the caller's).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace rvg {

struct Generation {
  std::string uuid;
  uint64_t start_seq = 0;  // the first seq written in it
  std::string parent;      // the uuid of the entry before ("" for the first)
  int64_t created_at = 0;  // unix seconds, for people

  bool operator==(const Generation&) const = default;
};

using GenerationHistory = std::vector<Generation>;

// At most this many entries travel in a handshake (the newest ones); a
// chain needs only its newest common entry to be compared.
inline constexpr size_t kMaxHistoryEntries = 256;

// A history received from a peer, checked: not empty, at most
// kMaxHistoryEntries entries, non-empty uuids of at most 64 bytes, parents
// chained, start seqs at least 1 and never decreasing, no uuid twice.
Status CheckHistory(const GenerationHistory& history);

// The newest kMaxHistoryEntries entries.
GenerationHistory TrimmedHistory(const GenerationHistory& history);

// The entry that appending a generation starting at `start_seq` to
// `history` would add (parent = the current generation).
Generation NextGeneration(const GenerationHistory& history, std::string uuid, uint64_t start_seq,
                          int64_t created_at);

enum class HistoryVerdict {
  kUnrelated,    // row 1: no generation in common
  kSame,         // row 2: same generation, same last seq
  kLocalAhead,   // rows 3, 7, 8, 10
  kLocalBehind,  // rows 4, 5, 6, 9
  kDiverged,     // rows 11, 12: split brain
};

const char* HistoryVerdictName(HistoryVerdict v);

struct HistoryComparison {
  HistoryVerdict verdict = HistoryVerdict::kUnrelated;
  int row = 0;  // the row of doc/failover.md's table
  // The newest generation both histories contain ("" when unrelated).
  std::string common;
  // Ahead/behind across a generation change: the first seq of the line
  // the behind side does not have (start_seq of the ahead side's first
  // generation after `common`); 0 when both are in the same generation.
  uint64_t fork_seq = 0;
  // The behind side holds seqs fork_seq..its last seq that the ahead line
  // replaced: they must be rolled back (rows 6, 8 and the like in 9, 10).
  bool rollback = false;
  // One line for the log: the verdict and why.
  std::string reason;
};

// Compares the local side (its history and last seq: a primary's newest
// synced seq, a secondary's highest seq held) with the remote side. The
// histories must have passed CheckHistory (the local one is trusted).
HistoryComparison CompareHistories(const GenerationHistory& local, uint64_t local_last,
                                   const GenerationHistory& remote, uint64_t remote_last);

}  // namespace rvg
