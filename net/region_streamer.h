// RegionStreamer: the primary's half of a bitmap resync on one RLINK
// (doc/resync.md). Between RESYNC begin and RESYNC end it walks the
// RLINK's DCM and sends each dirty region's current contents as REGION
// messages (pieces of at most kMaxWriteBytes: a large region in several,
// adjacent dirty regions in one), numbered from 1 in the session, within a
// window of bytes in flight. The secondary's ACK says up to which number
// the regions are on its synced images; those regions are cleared from
// the bitmap (in memory at once; saved to the store at most once a second
// and when the walk ends, as a lost clear only sends a region again: a
// state.db commit per ACK cost a tenth of a full sync). The walk is done
// when every region was sent and acknowledged and the bitmap is empty; a
// region dirtied again meanwhile (only possible before the resync began)
// is found by a further walk.
//
// Comparing instead of sending (doc/resync.md, "Checksum resync"). A piece
// whose bytes are all zero, and in a checksum resync every piece, goes out
// as a COMPARE with the hash of its bytes, numbered like a REGION. The
// secondary lists the pieces it found the same in a COMPARED before the
// ACK that counts them; any other piece the ACK counts (found different,
// or its answer lost) leaves its region dirty, to be sent as data by
// the next walk (only the first walk of a resync compares: what it leaves
// dirty is what differs, as nothing dirties a region during a resync). A
// region found the same is cleared like a region sent. So a sparse image
// costs no data, and a checksum resync sends only the regions that differ.
//
// The regions are read with PrimaryRvg::ReadForResync, so they carry only
// data that is durable in the primary's SRL, and they hold everything
// written up to the resync seq R: the ordered stream resumes at R + 1 only
// after RESYNC end, so no region can overtake a later write.
//
// Used by the RlinkSender thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include <zmq.hpp>

#include "core/dcm_tracker.h"
#include "core/primary_rvg.h"
#include "core/rlink_progress.h"

namespace rvg {

class RegionStreamer {
 public:
  RegionStreamer(PrimaryRvg* engine, DcmTracker* dcm, size_t rlink, std::string rlink_name,
                 uint64_t window_bytes);

  // A resync to seq `resync_seq` starts in session `session_id`;
  // `checksum`: compare every region before sending it.
  void Begin(uint64_t session_id, uint64_t resync_seq, bool checksum);
  // The resync ended; numbers go on increasing within the session (the
  // secondary's regions_done only grows in a session).
  void Finish();
  void Reset();  // the session ended: numbering starts again at 1

  enum class Step { kWindowFull, kThrottled, kBlocked, kDone, kFailed };
  // Sends regions until the window is full, the bandwidth limit says wait
  // (`throttled` true: kThrottled), the socket refuses (kBlocked), every
  // region is acknowledged (kDone), or reading one fails (kFailed, with
  // error()). Each piece sent is charged to the limit with `charge`.
  Step Pump(zmq::socket_t& socket, const std::string& rvg_uuid, const std::string& generation,
            const std::function<bool()>& throttled, const std::function<void(uint64_t)>& charge);
  // The secondary has every region numbered <= `regions_done` on its
  // synced images.
  void Acked(uint64_t regions_done);
  // The secondary's COMPARED for a resync check numbered `number`.
  void Compared(uint64_t number, bool same);

  bool active() const { return active_; }
  // This resync compares regions before sending them (Begin's `checksum`).
  bool compares() const { return checksum_; }
  uint64_t resync_seq() const { return resync_seq_; }
  // Numbers the RESYNC end, after the last REGION (the next resync of the
  // session goes on after it).
  uint64_t TakeNumber() { return next_number_++; }
  uint64_t bytes_done() const { return bytes_done_; }
  uint64_t bytes_total() const { return bytes_total_; }
  const std::string& error() const { return error_; }
  // Since the streamer was made (rvgd's start): never reset. Pieces found
  // the same by a COMPARE count as regions (one piece per region up to
  // 1 MiB regions).
  const ResyncCounters& counters() const { return counters_; }

 private:
  struct InFlight {
    uint64_t number;   // the REGION or COMPARE message's number
    RegionRef region;  // the first of `regions` adjacent regions, cleared
    uint32_t regions;  // when this piece is acknowledged...
    bool last_piece;   // ... if it is their last (and none differed)
    uint64_t bytes;    // of the volume this piece covers
    bool compared = false;  // a COMPARE, not data
    bool zero = false;      // ... of an all-zero piece
    bool same = false;      // the secondary said so (COMPARED)
  };

  // Sends one piece of `*extent` (the `*count` regions from `region`) from
  // piece_offset_ as REGION or COMPARE; a first walk may cut a joined piece
  // short (LeadingRunOfSameKind) and says so in `*count` and `*extent`.
  // False when the socket refused it.
  Result<bool> SendPiece(zmq::socket_t& socket, const std::string& rvg_uuid,
                         const std::string& generation, const RegionRef& region, uint32_t* count,
                         VolumeExtent* extent, const std::function<void(uint64_t)>& charge);
  uint32_t LeadingRunOfSameKind(const uint8_t* data, uint64_t length, uint32_t count) const;
  // Saves the regions cleared so far (Acked saves them only now and then).
  void PersistClears();

  static constexpr std::chrono::seconds kPersistClearsEvery{1};

  PrimaryRvg* const engine_;
  DcmTracker* const dcm_;
  const size_t rlink_;
  const std::string name_;
  const uint64_t window_bytes_;

  bool active_ = false;
  bool checksum_ = false;
  bool first_walk_ = true;
  bool region_differs_ = false;  // a piece of the region being acked differed
  uint64_t session_id_ = 0;
  uint64_t resync_seq_ = 0;
  uint64_t mark_generation_ = 0;  // the DCM's, when this resync began
  RegionRef cursor_;              // next region to look at
  uint64_t piece_offset_ = 0;     // within the region at the cursor
  bool walk_done_ = false;        // the cursor passed the last region
  uint64_t next_number_ = 1;
  std::deque<InFlight> in_flight_;
  uint64_t in_flight_bytes_ = 0;
  uint64_t bytes_done_ = 0;
  uint64_t bytes_total_ = 0;
  std::string error_;
  ResyncCounters counters_;
  std::chrono::steady_clock::time_point clears_persisted_{};
};

}  // namespace rvg
