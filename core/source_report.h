// SourceReport: the previous source's failback report, kept by a primary
// that took over for the other secondaries that need it (doc/failover.md,
// "Three hosts").
//
// After B takes over from A, a third host C may hold seqs of A's line past
// B's fork whose regions C can no longer list (its SRL released them).
// Those seqs came from A, so A's own failback report — the regions A wrote
// from its fork on — covers them. When A fails back, its RLINK on B
// publishes that report here; the RLINK to C, waiting for it, marks the
// ranges in its own bitmap and tells C that its bitmap now covers the
// replaced line from the report's fork on.
//
// Kept in memory only: a primary restarted before C reconnects has lost
// it, and C's RLINK waits again (its timeout ends in a full resync). Thread
// safe: senders publish and read it from their own threads.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/dcm_tracker.h"  // VolumeExtent

namespace rvg {

struct SourceReportEntry {
  std::string source;  // the RLINK (host) that reported
  // The generation whose seqs it rolled back (the newest it shared with
  // this primary): a third host holding seqs of another line is not
  // covered.
  std::string line;
  uint64_t fork_seq = 0;  // its ranges cover what it wrote from here on
  // Never empty: a source that reported nothing could not tell, and its
  // report is every volume whole (RlinkSender::AcceptFailback).
  std::vector<VolumeExtent> extents;
};

class SourceReport {
 public:
  // Replaces any earlier report: the newest failback of a previous source
  // is the one that covers the line most recently replaced.
  void Publish(SourceReportEntry entry);

  // The report, if one covers a secondary that holds seqs of generation
  // `line` from `fork_seq` on (the same line, the report's fork at or
  // before it).
  std::optional<SourceReportEntry> Covering(const std::string& line, uint64_t fork_seq) const;

 private:
  mutable std::mutex mu_;
  std::optional<SourceReportEntry> entry_;  // under mu_
};

}  // namespace rvg
