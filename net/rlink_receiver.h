// RlinkReceiver: the secondary's end of the RLINKs. A thread that owns a
// ZeroMQ ROUTER socket bound to the RVG's listen endpoint, accepts one
// primary session at a time, validates every message, hands valid writes to
// the SecondaryApplier and acknowledges: a network ack as soon as writes are
// in memory, a data ack whenever the applier has synced more.
//
// Who may talk to it (DESIGN.md, Security):
// - By default the socket is a CURVE server: traffic is encrypted, and the
//   ZapHandler admits only the primary key an administrator pinned, during
//   the handshake — an unauthenticated peer cannot send one message. Every
//   message also carries the key it was authenticated with ("User-Id"),
//   which must be the pinned one.
// - The binding is explicit: the pinned keys (or, on an insecure link, the
//   RVG uuid given at create) say which hosts this secondary may follow.
//   The first HELLO of one of them only records the RVG's uuid and
//   generation history, and BindRvg refuses to move a bound RVG elsewhere.
// - Which of them is primary is decided by generation histories
//   (doc/failover.md, rlink_receiver_history.cpp): a HELLO is accepted only
//   from a peer whose history is the same as ours or ahead of it without a
//   rollback; a newer history is adopted before the WELCOME. Everything
//   else is refused with our history, so an old primary learns it was
//   replaced, and a split brain is flagged.
// - Sessions are fenced by SessionGate: taken over only by the same
//   authenticated peer or after the old one fell silent; HELLOs and
//   refusals are rate-limited.
// - Nothing is disclosed before authentication: refusals tell an
//   unauthenticated peer only kGenericRefusal; the reason goes to the
//   local log (rate-limited). The authenticated primary gets the reason.
// - Memory is bounded: ZeroMQ refuses frames over kMaxWriteBytes, holds at
//   most kReceiveQueueMessages per connection, and the applier's reorder
//   buffer refuses seqs too far ahead or beyond its byte budget; what a
//   session left buffered ahead of the contiguous run is dropped when a
//   new session opens. (ZeroMQ assembles a multipart message completely
//   before delivering it, so the number of frames per message can only be
//   checked after that: with CURVE only the pinned primary gets that far;
//   an --insecure link is exposed to it, one reason it is for labs only.)
//
// When the applier stops for good (its health() turns bad: an I/O error on
// the SRL or an image, a state database that cannot be written), the
// receiver tells the primary at once: the current session gets a REJECT
// with retry=false and the reason ("secondary cannot apply writes: WHY; fix
// it and restart rvgd on the secondary") and is closed, and every later
// HELLO gets the same answer. The primary marks its RLINK failed with that
// reason rather than resending into a secondary that cannot take writes.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "core/dcm_tracker.h"
#include "core/generation_history.h"
#include "core/link_counters.h"
#include "core/range_check.h"
#include "core/secondary_applier.h"
#include "core/volume.h"
#include "net/handshake_watch.h"
#include "net/rate_limiter.h"
#include "net/session_gate.h"
#include "net/zap_handler.h"
#include "net/messages.h"
#include "net/wakeup.h"

namespace rvg {

struct RlinkReceiverConfig {
  std::string rvg_name;
  std::string listen;
  std::string rvg_uuid;    // "" while unbound
  GenerationHistory history;  // empty while unbound
  std::string host;        // this host's name in the RVG, for WELCOME
  std::vector<VolumeSpec> volumes;
  // Set on a host that stepped down for a fast failback (flag `failback`):
  // the ranges it wrote from seq failback_from on, reported to the new
  // primary in DIRTY messages before the WELCOME of the session that rolls
  // them back (every volume whole for a line that forks earlier).
  std::optional<std::vector<VolumeExtent>> failback;
  uint64_t failback_from = 0;
  std::chrono::milliseconds nack_after{500};
  // CURVE: this host's secret key and the public keys (Z85) of the hosts
  // it accepts a primary from. Empty only when insecure is set.
  std::string secret_key;
  std::vector<std::string> primary_keys;
  bool insecure = false;
  SessionGateOptions gate;
};

// What an unauthenticated or mismatched peer is told when refused.
inline constexpr const char* kGenericRefusal = "refused by the secondary (its log says why)";

// What the receiver needs from its daemon about generations: persist the
// RVG uuid (when unbound) and a primary's newer history before welcoming
// it; flag a split brain (the reason says with whom and which generations).
struct HistoryHooks {
  // `end_failback`: this host was flagged `failback` but the new line
  // needs no rollback; the flag and its bitmap go with the adoption.
  std::function<Status(const std::string& uuid, const GenerationHistory& history,
                       bool end_failback)>
      adopt;
  std::function<void(const std::string& reason)> split_brain;
  // A session opened with a primary: the key it proved ("" on an insecure
  // link) and the host name it announced. Called on the receiver thread.
  std::function<void(const std::string& key, const std::string& host)> followed;
  // Whether that peer is the host this secondary follows now. An
  // inconsistent secondary (a cut-off resync) may go on with a new
  // generation of that host's own line — its rotation at a session loss,
  // its force-online — since the partial regions came from that host and
  // its bitmap still owes the rest; never with another host's line.
  std::function<bool(const std::string& key, const std::string& host)> follows;
  // A fast failback's resync end is on its way to the applier: once it is
  // durable, `history` is to be adopted (SecondaryStore::ArmFailbackEnd),
  // and then RlinkReceiver::FailbackEnded called.
  std::function<void(const GenerationHistory& history)> failback_end;
  // A failback session ended before its resync did: nothing to adopt.
  std::function<void()> failback_cut;
  // Three hosts (doc/failover.md): a plain secondary holds seqs `fork`..
  // `held` of a line the primary's (`by`) replaced. The daemon lists the
  // ranges those records wrote from its SRL and persists them as the
  // failback bitmap with flag `failback` = fork, so this host goes on as
  // one that stepped down; it returns the ranges. ENOENT: the SRL no
  // longer holds them; EAGAIN: some are not logged yet. `covered`: the
  // primary's bitmap covers the replaced line from `fork` on (HELLO's
  // covered_from): unlisted seqs then roll back with no ranges of ours.
  std::function<Result<std::vector<VolumeExtent>>(uint64_t fork, uint64_t held,
                                                  const std::string& by, bool covered)>
      roll_back;
  // migrate: the primary of the session (key, announced host) hands over
  // with `m`, and the receiver found this host holding exactly its seqs
  // and consistent. The daemon checks that it could start as a primary,
  // and if so arranges to become one (on rvgd's main thread, after this
  // returns) and returns the new generation's uuid; an error refuses the
  // handover and changes nothing.
  std::function<Result<std::string>(const HandoverMsg& m, const std::string& key,
                                    const std::string& host)>
      handover;
};

class RlinkReceiver {
 public:
  RlinkReceiver(RlinkReceiverConfig config, SecondaryApplier* applier, HistoryHooks hooks,
                zmq::context_t* context);
  ~RlinkReceiver();

  // Binds the listen endpoint (a clear error if it is taken) and starts.
  Status Start();
  void Stop();

  // Wakes the receiver to send a data ack (the applier calls this).
  void NotifyApplied() { wakeup_->Signal(); }

  std::string peer() const;            // current session ("" if none)
  uint64_t rejected_messages() const { return rejected_.Total(); }
  // The same, by reason (core/link_counters.h).
  const RejectCounters& rejected_by_reason() const { return rejected_; }
  // Connections refused during the handshake (wrong key, no CURVE).
  uint64_t rejected_connections() const { return rejected_connections_.load(); }
  std::string uuid() const;
  std::string generation() const;  // the current one ("" while unbound)
  // The last session's peer: when it was last heard from (epoch when
  // never), for takeover's "is the primary gone" check.
  std::chrono::steady_clock::time_point last_heard() const;
  // The fast failback is complete and durable (any thread): `history` is
  // ours now, and there is nothing left to report.
  void FailbackEnded(const GenerationHistory& history);

 private:
  using Session = SessionGate::Session;

  Status OpenSocket();
  void Run();
  void TakeHandshakeEvents();
  void HandleMessage(std::vector<zmq::message_t>& frames);
  void OnHello(const PeerId& peer, const HelloMsg& h);
  // Takes the data frame over (it becomes the record's buffer).
  void OnWrite(const PeerId& peer, const WriteMsg& m, zmq::message_t* data);
  Status CheckHello(const HelloMsg& h);
  // rlink_receiver_history.cpp: the generation rule for a HELLO that passed
  // CheckHello. OK: accept it (a newer history was adopted, or, with
  // *fork set, the session is a fast failback from seq *fork on: nothing
  // is adopted until its resync ends). Otherwise `refusal` is filled in to
  // be sent (with our history).
  Status DecideHistory(const HelloMsg& h, const std::string& peer_key, RejectMsg* refusal,
                       uint64_t* fork);
  // A plain secondary holding seqs fork..held of a replaced line becomes
  // one that rolls them back (hooks_.roll_back); fails when it cannot tell
  // which regions they wrote.
  Status BecomeFailback(uint64_t fork, uint64_t held, const std::string& who, bool covered,
                        uint64_t* failback_from);
  // The failback ranges, in DIRTY messages of the session being opened.
  void SendFailbackRanges(const PeerId& peer, uint64_t session_id, uint64_t fork);
  void Reply(const std::string& identity, const std::string& header);
  void Reject(const std::string& identity, uint64_t session_id, const std::string& why,
              bool retry);
  // A rate-limited REJECT; `why` only when the peer is authenticated.
  void Refuse(const PeerId& peer, uint64_t session_id, const std::string& why, bool retry);
  // Counts a rejected message and logs why (rate-limited).
  void Drop(RejectReason reason, const std::string& why);
  Session CurrentSession() const;
  void CheckApplier();
  void OnResync(const PeerId& peer, const ResyncMsg& m);
  // The primary closed its session (a REJECT with the session's id, from
  // the session's peer): free it now, so its next connection is let in.
  void OnPrimaryClose(const PeerId& peer, const RejectMsg& m);
  // COMPARE: a resync's in its place among the regions, a verify's queued
  // until the applied seq reaches its after_seq (core/range_check.h).
  void OnCompare(const PeerId& peer, const CompareMsg& m);
  // rlink_receiver_handover.cpp: migrate. After an accepted HANDOVER the
  // receiver takes nothing more from anyone (handed_over_).
  void OnHandover(const PeerId& peer, const HandoverMsg& m);
  Status CheckHandover(const HandoverMsg& m);
  void SendCheckResults(const Session& s, const std::vector<RangeCheckResult>& results);
  void ResyncViolation(const PeerId& peer, uint64_t session_id, const std::string& why);
  // The session's resync is over: regions queued in the applier dropped.
  void ResetResync();
  void SendAck();
  void MaybeNack();

  RlinkReceiverConfig config_;
  SecondaryApplier* const applier_;
  const HistoryHooks hooks_;
  zmq::context_t* const context_;
  const std::shared_ptr<Wakeup> wakeup_;

  std::atomic<bool> stop_{false};
  RejectCounters rejected_;
  std::atomic<uint64_t> rejected_connections_{0};
  std::thread thread_;
  std::unique_ptr<ZapHandler> zap_;  // bound before socket_ (CURVE only)
  std::unique_ptr<zmq::socket_t> socket_;
  std::unique_ptr<HandshakeWatch> watch_;

  // Guards gate_ (its session is read by peer()) and config_'s uuid and
  // generation for readers; the receiver thread is the only writer.
  mutable std::mutex mu_;
  SessionGate gate_;

  // Owned by the receiver thread.
  RateLimiter drop_log_{20, std::chrono::seconds(10)};
  // The session the last HELLO replaced, and the key it was held by: its
  // primary's goodbye may still come on the old connection.
  uint64_t replaced_session_id_ = 0;
  std::string replaced_session_key_;
  RateLimiter handshake_log_{10, std::chrono::seconds(10)};
  bool applier_failed_ = false;  // the session was refused for good
  bool handed_over_ = false;     // this host is becoming the primary
  std::string session_host_;     // the host name the session's HELLO announced
  uint64_t acked_received_ = 0;
  uint64_t acked_applied_ = 0;
  uint64_t acked_regions_ = 0;
  // The session's resync: begin seen and not yet ended; the number the
  // next REGION (or the end) must carry. Receiver thread only.
  bool resync_open_ = false;
  uint64_t next_region_ = 1;
  // The session's line: writes and regions must carry its generation; in
  // a fast failback (failback_fork_ != 0) it is adopted only at the end.
  GenerationHistory session_history_;
  uint64_t failback_fork_ = 0;
  bool ack_due_ = false;
  std::pair<uint64_t, uint64_t> gap_{0, 0};
  std::chrono::steady_clock::time_point gap_since_;
};

}  // namespace rvg
