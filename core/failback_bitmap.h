// The failback bitmap (doc/failover.md, "Fast failback"): the regions a
// primary that stepped down wrote past the fork, kept in state.db as
// bitmap chunks (StateDb, rlink "") between the step-down and the end of
// its failback, and reported to the new primary as byte ranges.
//
// Region granularity on purpose: a range becomes every region it touches,
// so the ranges read back cover at least what was written — a failback
// may resync a little more than was written, never less.
#pragma once

#include <vector>

#include "core/dcm_tracker.h"
#include "core/dirty_map.h"
#include "core/srl.h"
#include "core/status.h"
#include "core/volume.h"

namespace rvg {

// The chunks with a bit set for every region `extents` touch. An extent
// of an unknown volume or past its end is an error (a damaged SRL record
// would otherwise go unreported).
Result<std::vector<BitmapChunk>> FailbackChunks(const std::vector<VolumeSpec>& volumes,
                                                uint64_t region_size,
                                                const std::vector<VolumeExtent>& extents);

// The dirty regions of `chunks` as ranges, adjacent regions joined, in
// volume order. Chunks that do not fit the volumes are an error naming
// them (DirtyMap::Load).
Result<std::vector<VolumeExtent>> FailbackExtents(const std::vector<VolumeSpec>& volumes,
                                                  uint64_t region_size,
                                                  const std::vector<BitmapChunk>& chunks);

// At most `max_count` ranges that cover `extents` (sorted by volume order
// of FailbackExtents, then offset): neighbours on a volume are joined
// across ever wider gaps until few enough remain. A superset is safe for
// a failback: it only resyncs more.
std::vector<VolumeExtent> Coarsened(std::vector<VolumeExtent> extents, size_t max_count);

// The ranges of the records `from`..`to` of `srl`, read back (checksums
// verified). ENOENT when the SRL no longer holds `from` (or does not hold
// `to` yet): then nothing tells which regions those seqs wrote.
Result<std::vector<VolumeExtent>> SrlExtents(const Srl& srl, uint64_t from, uint64_t to);

// Every volume whole: what a failback resyncs when nothing tells which
// regions differ.
std::vector<VolumeExtent> WholeVolumes(const std::vector<VolumeSpec>& volumes);

}  // namespace rvg
