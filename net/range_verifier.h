// RangeVerifier: the primary's half of `rvgadm verify` on one RLINK
// (doc/resync.md, "Verify"). While ordered replication goes on, it walks
// every volume in pieces (the RVG's region size, at most 1 MiB), and for
// each piece
//   1. reads it through the engine with PrimaryRvg::ReadForVerify, which
//      says up to which seq W the bytes are exact and starts a watch that
//      trips on any later write to the piece;
//   2. sends COMPARE (kind verify) with the hash and after_seq = W; the
//      secondary hashes its image once it has applied W (or more);
//   3. on COMPARED: the same → verified; different and the watch not
//      tripped → a real difference (the secondary at seq >= W must hold
//      what the primary held at W, as no write touched the piece since);
//      different and tripped → the piece was written meanwhile: it is
//      checked again later, never reported (DRBD's verify reports such
//      pieces as false differences). A piece written on every one of
//      kMaxAttempts tries is counted as unverified (busy), not different.
// Differences are marked dirty in the RLINK's bitmap, so that `rvgadm
// resync` sends them.
//
// A verify needs an up session and a consistent secondary: it fails (with
// a reason) when the session is lost or a resync begins; run it again.
//
// Start() and report() are called from any thread; the rest from the
// RlinkSender thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "core/dcm_tracker.h"
#include "core/primary_rvg.h"
#include "core/volume.h"

namespace rvg {

struct VerifyReport {
  enum class State { kNone, kRunning, kDone, kFailed };
  State state = State::kNone;
  uint64_t run = 0;  // numbers the verifies of this rvgd, from 1
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  uint64_t rechecks = 0;          // pieces compared again after a write
  uint64_t unverified_bytes = 0;  // pieces written on every try
  uint64_t differing_bytes = 0;
  std::vector<VolumeExtent> differences;  // adjacent ones merged; the first kMaxReported
  std::string error;                      // kFailed: why
};

class RangeVerifier {
 public:
  static constexpr int kMaxAttempts = 8;
  static constexpr size_t kMaxReported = 1000;

  // `dcm` may be null (no bitmap: differences are only reported).
  RangeVerifier(PrimaryRvg* engine, DcmTracker* dcm, size_t rlink, std::string rlink_name,
                std::vector<VolumeSpec> volumes, uint64_t piece_bytes);
  ~RangeVerifier();

  // Asks for a verify; the sender thread begins it. Returns the run's
  // number, or 0 with `*why` when one is already running.
  uint64_t Start(std::string* why);
  VerifyReport report() const;
  // Bytes of COMPARE messages verifies sent since rvgd started (no data
  // travels: this is what a verify costs the link).
  uint64_t bytes_sent() const;

  // Sender thread. Sends checks while the window allows; false when the
  // socket refused one (try again when it is writable). `secondary_applied`
  // is the secondary's data-acked seq: while it is below a pending check's
  // seq, the missing answer is not yet due.
  bool Pump(zmq::socket_t& socket, uint64_t session_id, uint64_t secondary_applied);
  void Compared(uint64_t number, bool same, uint64_t seq);
  // The run (if any) cannot go on: it fails with `why`.
  void Abort(const std::string& why);
  bool running() const;

 private:
  struct Piece {
    uint32_t volume = 0;
    uint64_t offset = 0;
    uint32_t length = 0;
    int attempts = 0;
    std::chrono::steady_clock::time_point not_before{};
  };
  struct Pending {
    uint64_t number;
    Piece piece;
    uint64_t watch;
    uint64_t after_seq;
  };

  // mu_ held:
  bool NextPiece(Piece* piece);
  void AddDifference(const Piece& piece);
  void EndWatches();
  void FinishIfDone();

  PrimaryRvg* const engine_;
  DcmTracker* const dcm_;
  const size_t rlink_;
  const std::string name_;
  const std::vector<VolumeSpec> volumes_;
  const uint64_t piece_bytes_;

  mutable std::mutex mu_;
  VerifyReport report_;
  bool start_wanted_ = false;
  uint64_t next_run_ = 1;
  uint64_t bytes_sent_ = 0;
  size_t volume_index_ = 0;  // the walk: next piece
  uint64_t offset_ = 0;
  std::deque<Piece> rechecks_;
  std::deque<Pending> pending_;  // sent, not answered; in number order
  uint64_t next_number_ = 1;
  uint64_t session_id_ = 0;
  std::chrono::steady_clock::time_point last_answer_{};
  std::vector<uint8_t> buffer_;
};

}  // namespace rvg
