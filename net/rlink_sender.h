// RlinkSender: the primary's end of one RLINK. A thread that owns a ZeroMQ
// DEALER socket connected to the secondary's endpoint, opens a session with
// HELLO, resumes from the seq the secondary says it holds, and streams every
// synced record from the engine in seq order (from memory, or read back from
// the SRL when it has fallen behind), within a window of unacknowledged
// bytes. ACKs move the RLINK's net-acked and data-acked seqs; a NACK rewinds
// the stream; silence longer than the dead timeout, or a REJECT, drops the
// session and starts a new one.
//
// The RLINK's state is not this class's to set: it reports sessions, acks
// and failures to the RlinkSet and asks it whether to send (a paused RLINK
// keeps its session with heartbeats but sends no writes).
//
// Failures that retrying cannot cure put the RLINK in state `failed` with
// the reason in last_error(): a REJECT that says not to retry (the
// secondary's applier failed, or it belongs elsewhere) — HELLOs then go out
// only every few seconds and a WELCOME clears the state once an
// administrator has fixed the secondary — and a record that fails its
// checksums when read back from the SRL, after which this RLINK sends
// nothing until rvgd is restarted (resending would only loop).
//
// bandwidth_limit: the data bytes sent are charged to a token bucket at the
// RLINK's current limit, read from the RlinkSet before each record, so an
// `rvgadm set` applies within one record. While the bucket is in debt the
// thread does not send records but keeps polling — with a timeout that ends
// when the debt is paid — so acks, NACKs and heartbeats go on as usual.
// Resync traffic is to be charged to the same bucket (TrafficDelay and
// ChargeTraffic), so that the limit caps both together.
//
// Measures (for status and the metrics endpoint, kept in memory since rvgd
// started): the latency of every write's network ack and data ack
// (AckTimer: stamped when the record is sent, timed when an ACK covers
// it), the messages from the secondary it dropped, by reason, and the
// errors the link met, by kind (core/link_counters.h).
//
// The link is a CURVE client unless the RLINK is insecure: it proves this
// host's key and accepts only a server that proves the secondary's pinned
// key, so no one else can receive the writes or pose as the secondary. A
// handshake that fails (our key not pinned there, the wrong key pinned
// here) is reported in last_error(), saying which `rvgadm trust` fixes it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "core/ack_timer.h"
#include "core/generation_line.h"
#include "core/link_counters.h"
#include "core/primary_rvg.h"
#include "core/rate_meter.h"
#include "core/rlink_progress.h"
#include "core/rlink_set.h"
#include "core/source_report.h"
#include "core/token_bucket.h"
#include "core/volume.h"
#include "net/handshake_watch.h"
#include "net/messages.h"
#include "net/range_verifier.h"
#include "net/region_streamer.h"
#include "net/wakeup.h"

namespace rvg {

struct RlinkSenderConfig {
  std::string rvg_name;
  std::string rvg_uuid;
  // This primary's generation history (doc/failover.md), sent in HELLO;
  // a session ends when a new generation begins (see GenerationLine).
  std::shared_ptr<const GenerationLine> line;
  std::string host;  // this host's name, sent in HELLO
  // Called on the sender's thread when a secondary welcomed a session in
  // `generation` (the daemon records it: rlinks.peer_generation).
  std::function<void(const std::string& generation)> peer_accepted;
  // Called on the sender's thread when the peer refused us with a history
  // newer than ours and said it is primary itself: this host was replaced
  // and must step down (doc/failover.md, fast failback).
  std::function<void(const HistoryComparison& verdict, const std::string& why)> replaced;
  // Called on the sender's thread when the peer's history and ours
  // diverged (doc/failover.md rows 11, 12: split brain); `peer` is its
  // history. Nothing is replicated to it until resolved.
  std::function<void(const HistoryComparison& verdict, const GenerationHistory& peer)>
      split_brain;
  // Called on the sender's thread when a fast failback's resync of this
  // secondary ended: it is a copy of this primary's line again.
  std::function<void()> failback_done;
  // Called on the sender's thread when a resync that compared region
  // hashes (CompareResync) completed.
  std::function<void()> compare_done;
  // Three hosts (doc/failover.md): the previous source's failback report,
  // shared by this primary's RLINKs; `previous_source`: this RLINK's peer
  // is that source (flag `source`), and its report is published there.
  // An RLINK whose secondary must roll back seqs it cannot list waits for
  // the report at most `source_wait` seconds (SetSourceWait changes it),
  // then resyncs every region.
  std::shared_ptr<SourceReport> source_report;
  bool previous_source = false;
  double source_wait = 600;
  std::string rlink_name;
  std::string address;
  std::vector<VolumeSpec> volumes;
  // In flight (sent, not data-acked): at most this many bytes and writes.
  // The count matters for tiny writes: the secondary's receive buffer
  // (ReorderLimits) holds 2^18 seqs and charges 256 bytes a record.
  uint64_t window_bytes = 64ull << 20;
  uint64_t window_writes = 65536;
  // While the RLINK is behind the in-flight buffer, every record sent is a
  // buffer read back from the SRL that nobody else holds: rvgd's memory
  // grows by the window. So the window shrinks to this while reading back;
  // 16 MiB is still above the bandwidth-delay product of a 1 Gb/s link at
  // 100 ms, and keeps peak RSS near the in-flight budget (issue 8).
  uint64_t read_back_window_bytes = 16ull << 20;
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds dead_timeout{5000};
  std::chrono::milliseconds hello_retry{1000};
  // CURVE (Z85): this host's key pair and the secondary's pinned public
  // key. All empty only when insecure is set.
  std::string public_key;
  std::string secret_key;
  std::string server_key;
  bool insecure = false;
};

class RlinkSender {
 public:
  // `index`: this RLINK's place in `rlinks`, whose state machine hears of
  // every session, ack and failure here and decides whether to send.
  // `dcm` (may be null: no bitmap resync) holds the RLINKs' bitmaps.
  RlinkSender(RlinkSenderConfig config, PrimaryRvg* engine, std::shared_ptr<RlinkSet> rlinks,
              size_t index, DcmTracker* dcm, zmq::context_t* context);
  ~RlinkSender();

  void Start();
  void Stop();

  // The last problem seen on this RLINK ("" when none), for status.
  std::string last_error() const;
  // Where the last record sent came from: "memory", "srl" (read back: the
  // secondary lags by more than the in-memory budget), or "" before the
  // first record since rvgd started. For status.
  std::string sending_from() const;

  // The RLINK's bandwidth_limit, shared by every kind of traffic to this
  // secondary (records here; resync chunks later): how long a sender must
  // wait before its next message (zero: send now), and the charge for the
  // data bytes of a message it sent. Thread-safe.
  std::chrono::steady_clock::duration TrafficDelay();
  void ChargeTraffic(uint64_t bytes);
  // A bitmap resync under way: bytes done and total, rate and ETA over
  // the last RateMeter window, as of `now`. Thread-safe.
  std::optional<ResyncProgress> resync_progress(std::chrono::steady_clock::time_point now) const;
  // This RLINK's resync counters since rvgd started. Thread-safe.
  ResyncCounters resync_counters() const;
  // Ack latencies, rejected messages and errors since rvgd started (see
  // the header comment). Read from any thread.
  const LatencyHistogram& net_ack_latency() const { return ack_timer_.net_ack(); }
  const LatencyHistogram& data_ack_latency() const { return ack_timer_.data_ack(); }
  const RejectCounters& rejected_messages() const { return rejected_; }
  const LinkErrorCounters& errors() const { return errors_; }
  // Whether the next (or the running) resync of this RLINK compares region
  // hashes before sending (startrep --checksum); true until such a resync
  // completes, which calls `compare_done`. The daemon persists it (flag
  // checksum_resync:RLINK) so that a restart goes on comparing.
  void CompareResync(bool compare) { checksum_resync_ = compare; }
  // The split brain found at the last refusal ("" when none since the
  // last session), for status: "ours X, theirs Y after Z".
  std::string split_brain() const;
  // Online verify (rvgadm verify); Start() on it wakes nothing: call Wake().
  RangeVerifier& verifier() { return *verifier_; }
  void Wake() { wakeup_->Signal(); }
  // Waiting for the previous source (rlink_sender_source_wait.cpp): the
  // fork the secondary rolls back from and the seconds until a full
  // resync ends the wait. EndSourceWait: resync --full made the bitmap
  // whole, which covers everything.
  struct SourceWaitStatus {
    uint64_t fork_seq = 0;
    int64_t seconds_left = 0;
  };
  std::optional<SourceWaitStatus> source_waiting() const;
  void EndSourceWait();
  void SetSourceWait(double seconds) { source_wait_s_ = seconds; }

  // migrate (doc/failover.md, rlink_sender_handover.cpp): asks the
  // secondary, in the current session, to become primary from seq + 1
  // (HANDOVER) and waits until `timeout` for its answer (HANDED). The
  // caller has stopped every write and this RLINK has data-acked `seq`.
  // *sent says whether the HANDOVER went out: an error with *sent false
  // (no session in time) changed nothing; with *sent true the secondary
  // may have taken over even though no answer came. One at a time.
  Result<HandedMsg> HandOver(uint64_t seq, const std::string& mount,
                             std::chrono::milliseconds timeout, bool* sent);

 private:
  void Run();
  // False (with last_error set) when ZeroMQ refuses a socket.
  bool OpenSocket();
  void OpenSocketOrThrow();
  void TakeHandshakeEvents();
  // Ends the session. With `tell_peer`, a session the secondary welcomed
  // is told so by a REJECT carrying its id (doc/wire-protocol.md), so the
  // secondary frees it at once instead of after the dead timeout: on an
  // insecure link nothing else lets the next connection in sooner.
  // Not when the secondary ended it (it knows) or fell silent (it would
  // not hear).
  void CloseSession(const std::string& why, bool tell_peer = true);
  void SendHello();
  // True (the session closed) when a new generation began since HELLO.
  bool GenerationChanged();
  void HandleMessage(std::vector<zmq::message_t>& frames);
  // Whether a message of `session_id` belongs here now (the session, and
  // connected or not as `connected` says); one that does not is counted
  // as rejected (acks of a session just closed are the usual ones).
  bool InSession(uint64_t session_id, bool connected);
  // The socket refused a send: wait for POLLOUT (and count it).
  void Blocked();
  void OnWelcome(const WelcomeMsg& m);
  // rlink_sender_failback.cpp (doc/failover.md): a refusal with the peer's
  // history; a DIRTY of a fast failback merged into the DCM; a WELCOME
  // with a fork checked and the RLINK set to resync (false: refused, the
  // session closed).
  bool OnHistoryRefusal(const RejectMsg& r);  // true: reported (split brain, source wait)
  void StartSourceWait(uint64_t fork_seq, const std::string& line);
  // True while the wait holds back the next HELLO; ends it (marking this
  // RLINK's bitmap) once the report, resync --full or the timeout came.
  bool SourceWaitHolds();
  bool BitmapWhole() const;  // every region of this RLINK dirty
  void KeepForSourceReport(const std::vector<VolumeExtent>& extents);
  static constexpr size_t kMaxSourceReportExtents = 64 * 1024;
  // A WELCOME: no split brain, no wait, no coverage claimed any more.
  void SessionWelcomed();
  void OnDirty(const DirtyMsg& d);
  bool AcceptFailback(const WelcomeMsg& w);
  void SendRecords();
  // zmq::poll's timeout: short enough to send again once the bandwidth
  // limit allows (never zero while throttled: that would spin).
  std::chrono::milliseconds PollTimeout() const;
  void PumpResync();
  void EndResync();
  // Copies the streamer's figures where status reads them.
  void PublishResync();
  void SetError(const std::string& error);
  void Fail(const std::string& error);
  // rlink_sender_handover.cpp, on the sender thread: send a HANDOVER that
  // HandOver() asked for; take its answer; a session lost after sending it.
  void PumpHandover();
  void OnHanded(const HandedMsg& m);
  void HandoverSessionLost(const std::string& why);

  const RlinkSenderConfig config_;
  PrimaryRvg* const engine_;
  const std::shared_ptr<RlinkSet> rlinks_;
  const size_t index_;
  DcmTracker* const dcm_;  // may be null
  RlinkProgress& progress_;  // rlinks_->progress(index_)
  zmq::context_t* const context_;
  const std::shared_ptr<Wakeup> wakeup_;

  std::atomic<bool> stop_{false};
  std::thread thread_;

  // Owned by the sender thread.
  std::unique_ptr<zmq::socket_t> socket_;
  std::unique_ptr<HandshakeWatch> watch_;  // of socket_, destroyed before it
  std::unique_ptr<RegionStreamer> streamer_;  // null without a DCM
  std::unique_ptr<RangeVerifier> verifier_;
  std::atomic<bool> checksum_resync_{false};
  bool resync_end_sent_ = false;
  bool failback_resync_ = false;  // the session's resync is a fast failback
  uint64_t resync_end_number_ = 0;  // the RESYNC end's number, once sent
  uint64_t session_id_ = 0;
  // The history announced in the session's HELLO, and the line's version
  // then: the session's writes are tagged with its newest generation.
  GenerationHistory session_history_;
  std::string session_generation_;
  uint64_t session_line_version_ = 0;
  bool connected_ = false;
  // The secondary welcomed this socket's session (so it holds it open, even
  // if this side then refuses the WELCOME): a close is worth telling it.
  bool welcomed_ = false;
  bool blocked_ = false;  // the socket refused a send; wait for POLLOUT
  // Send times of the records in flight: a slot per write the window
  // allows in flight, so that every write is timed.
  AckTimer ack_timer_{static_cast<size_t>(config_.window_writes)};
  RejectCounters rejected_;
  LinkErrorCounters errors_;
  bool halted_ = false;   // a damaged record: send nothing until restart
  std::chrono::steady_clock::time_point retry_after_;  // after a no-retry REJECT
  // The RLINK's state when it refused a welcomed session (stale): a change
  // of it (startrep) ends the wait for retry_after_ early.
  std::optional<RlinkState> retry_state_;
  uint64_t next_send_ = 0;
  std::chrono::steady_clock::time_point last_heard_;
  std::chrono::steady_clock::time_point last_sent_;
  std::chrono::steady_clock::time_point hello_sent_;
  // Records wait for the bandwidth limit until then.
  std::chrono::steady_clock::time_point throttled_until_;
  // -1: nothing sent yet; else a PrimaryRvg::RecordSource.
  std::atomic<int> sending_from_{-1};

  std::mutex bucket_mu_;
  TokenBucket bucket_;  // guarded by bucket_mu_

  mutable std::mutex error_mu_;
  std::string last_error_;
  std::string split_brain_;  // under error_mu_
  struct SourceWait {
    uint64_t fork_seq = 0;
    std::string line;  // the replaced generation the secondary holds seqs of
    bool full_asked = false;  // resync --full during this wait
    std::chrono::steady_clock::time_point since;
    std::chrono::steady_clock::time_point next_probe;  // a HELLO, in case it can list now
  };
  std::optional<SourceWait> source_wait_;  // under error_mu_
  std::atomic<double> source_wait_s_{config_.source_wait};  // the attribute, as reloaded
  std::chrono::steady_clock::duration SourceWaitLimit() const;
  uint64_t covered_from_ = 0;  // HelloMsg::covered_from; until a failback WELCOME
  uint64_t dirty_session_ = 0;  // the session dirty_report_ belongs to
  // Its DIRTY ranges, for SourceReport (previous source only; whole
  // volumes once more than kMaxSourceReportExtents came).
  std::vector<VolumeExtent> dirty_report_;
  // Under error_mu_: the resync's figures as the sender thread last saw
  // them (bytes done is sampled into the meter), and the counters.
  std::optional<std::pair<uint64_t, uint64_t>> resync_progress_;
  RateMeter resync_rate_;
  ResyncCounters resync_counters_;

  // HandOver()'s request, between the caller and the sender thread.
  enum class HandoverPhase { kIdle, kWanted, kSent, kDone };
  std::mutex handover_mu_;
  std::condition_variable handover_cv_;
  HandoverPhase handover_phase_ = HandoverPhase::kIdle;  // under handover_mu_
  HandoverMsg handover_;                                  // under handover_mu_
  std::optional<HandedMsg> handed_;                       // under handover_mu_
  std::string handover_lost_;  // why no answer came; under handover_mu_
};

}  // namespace rvg
