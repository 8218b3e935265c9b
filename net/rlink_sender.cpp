#include "net/rlink_sender.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/dirty_map.h"
#include "core/secondary_applier.h"
#include "net/zmq_util.h"

namespace rvg {

namespace {

// Regions in flight: three of the secondary's 16 MiB apply batches, so
// that two arrive while it writes and syncs one (32 MiB synced 2 GiB 25 %
// slower). The secondary holds what the window lets through before
// writing it, charging each region 256 bytes more, and ends a session
// that sends past kDefaultMaxRegionBytes: so the window, plus the one
// piece it may overshoot by, must fit there at the smallest region size
// (4 KiB): 52 MiB of 64.
constexpr uint64_t kResyncWindowBytes = 48ull << 20;
static_assert((kResyncWindowBytes + kMaxWriteBytes) / kMinRegionSize *
                  (kMinRegionSize + ReorderBuffer::kRecordOverhead) <=
              kDefaultMaxRegionBytes);

using Clock = std::chrono::steady_clock;

// How long a closed socket may keep trying to deliver the goodbye REJECT.
// rvgd's shutdown waits at most this long for it (zmq_ctx_term).
constexpr int kGoodbyeLingerMs = 100;

}  // namespace

RlinkSender::RlinkSender(RlinkSenderConfig config, PrimaryRvg* engine,
                         std::shared_ptr<RlinkSet> rlinks, size_t index, DcmTracker* dcm,
                         zmq::context_t* context)
    : config_(std::move(config)),
      engine_(engine),
      rlinks_(std::move(rlinks)),
      index_(index),
      dcm_(dcm),
      progress_(rlinks_->progress(index)),
      context_(context),
      wakeup_(Wakeup::Create()) {
  // The engine keeps this listener for its lifetime; holding the Wakeup by
  // shared_ptr keeps the eventfd valid even after this sender is gone.
  if (dcm != nullptr) {
    streamer_ = std::make_unique<RegionStreamer>(engine_, dcm, index_, config_.rlink_name,
                                                 kResyncWindowBytes);
  }
  verifier_ = std::make_unique<RangeVerifier>(engine_, dcm, index_, config_.rlink_name,
                                              config_.volumes,
                                              dcm != nullptr ? dcm->region_size() : kMaxWriteBytes);
  std::weak_ptr<Wakeup> weak = wakeup_;
  engine_->AddSyncListener([weak] {
    if (auto w = weak.lock()) w->Signal();
  });
}

RlinkSender::~RlinkSender() { Stop(); }

void RlinkSender::Start() {
  thread_ = std::thread([this] { Run(); });
}

void RlinkSender::Stop() {
  stop_ = true;
  wakeup_->Signal();
  if (thread_.joinable()) thread_.join();
}

std::string RlinkSender::last_error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return last_error_;
}

std::string RlinkSender::sending_from() const {
  switch (sending_from_.load()) {
    case static_cast<int>(PrimaryRvg::RecordSource::kMemory): return "memory";
    case static_cast<int>(PrimaryRvg::RecordSource::kSrl): return "srl";
    default: return "";
  }
}

Clock::duration RlinkSender::TrafficDelay() {
  // Read live, so that rvgadm set takes effect on the next message.
  const uint64_t limit = rlinks_->policy(index_).bandwidth_limit;
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(bucket_mu_);
  bucket_.SetRate(limit, now);
  return bucket_.Delay(now);
}

void RlinkSender::ChargeTraffic(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(bucket_mu_);
  bucket_.Charge(bytes, Clock::now());
}

std::chrono::milliseconds RlinkSender::PollTimeout() const {
  constexpr std::chrono::milliseconds kIdle{200};
  if (!connected_) return kIdle;
  const auto now = Clock::now();
  if (throttled_until_ <= now) return kIdle;
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(throttled_until_ - now);
  return std::clamp(wait, std::chrono::milliseconds(1), kIdle);
}

void RlinkSender::SetError(const std::string& error) {
  std::lock_guard<std::mutex> lock(error_mu_);
  if (error != last_error_ && !error.empty()) {
    spdlog::warn("rlink {}: {}", config_.rlink_name, error);
  }
  last_error_ = error;
}

void RlinkSender::Fail(const std::string& error) {
  SetError(error);
  rlinks_->MarkFailed(index_);
}

bool RlinkSender::OpenSocket() {
  try {
    OpenSocketOrThrow();
    return true;
  } catch (const zmq::error_t& e) {
    // Out of file descriptors, say: nothing this thread can fix but wait.
    errors_.Count(LinkError::kSocket);
    SetError(std::string("cannot open a socket to ") + config_.address + ": " + e.what() +
             "; retrying");
    watch_.reset();
    socket_.reset();
    return false;
  }
}

void RlinkSender::OpenSocketOrThrow() {
  socket_ = std::make_unique<zmq::socket_t>(*context_, zmq::socket_type::dealer);
  socket_->set(zmq::sockopt::linger, 0);
  // Queue nothing for a peer that is not connected: a new session starts
  // with HELLO anyway, and stale queued writes would only be duplicates.
  socket_->set(zmq::sockopt::immediate, 1);
  socket_->set(zmq::sockopt::reconnect_ivl, 200);
  socket_->set(zmq::sockopt::reconnect_ivl_max, 2000);
  socket_->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMaxHeaderBytes));
  socket_->set(zmq::sockopt::sndhwm, 4096);
  if (!config_.insecure) {
    socket_->set(zmq::sockopt::curve_serverkey, config_.server_key);
    socket_->set(zmq::sockopt::curve_publickey, config_.public_key);
    socket_->set(zmq::sockopt::curve_secretkey, config_.secret_key);
  }
  watch_ = std::make_unique<HandshakeWatch>(*context_, *socket_);
  socket_->connect(config_.address);
  session_id_ = RandomSessionId();
  connected_ = false;
  welcomed_ = false;
  blocked_ = false;
  hello_sent_ = Clock::time_point{};
}

void RlinkSender::CloseSession(const std::string& why, bool tell_peer) {
  if (connected_) spdlog::info("rlink {}: session closed: {}", config_.rlink_name, why);
  if (welcomed_ && tell_peer && socket_) {
    // Best effort: queued behind what was already sent (waiting for room
    // a little if the queue is full), and given a short linger to leave;
    // if it is lost the dead timeout frees the session.
    const std::string bye =
        Encode(RejectMsg{session_id_, "the primary closed the session: " + why, true});
    socket_->set(zmq::sockopt::sndtimeo, kGoodbyeLingerMs);
    socket_->set(zmq::sockopt::linger, kGoodbyeLingerMs);
    try {
      (void)socket_->send(zmq::buffer(bye), zmq::send_flags::none);
    } catch (const zmq::error_t&) {
      // The socket is being torn down anyway.
    }
  }
  // A resync cut short: the RLINK tracks again (the engine marks what was
  // written since the resync's seq) before the session counts as down.
  if (rlinks_->ResyncSeq(index_)) engine_->InterruptResync(index_);
  if (streamer_) {
    streamer_->Reset();
    PublishResync();
  }
  verifier_->Abort("the session with the secondary ended (" + why + "); run verify again");
  resync_end_sent_ = false;
  resync_end_number_ = 0;
  failback_resync_ = false;
  if (connected_) rlinks_->SessionDown(index_);
  HandoverSessionLost(why);
  connected_ = false;
  welcomed_ = false;
  watch_.reset();
  socket_.reset();
}

// ZeroMQ retries a failed handshake by itself; what is left to do is to
// tell the administrator which side lacks which key.
void RlinkSender::TakeHandshakeEvents() {
  std::optional<HandshakeWatch::Failure> failure = watch_->TakeFailure();
  if (!failure) return;
  errors_.Count(LinkError::kHandshake);
  const std::string& rvg = config_.rvg_name;
  const std::string& sec = config_.rlink_name;
  switch (failure->kind) {
    case HandshakeWatch::Kind::kRefused:
      SetError("the secondary at " + config_.address + " refused this primary's key " +
               config_.public_key + ": on the secondary, run rvgadm trust " + rvg + " " +
               config_.public_key);
      break;
    case HandshakeWatch::Kind::kMechanismMismatch:
      SetError("handshake with " + config_.address + " failed: one side is --insecure and the "
               "other uses CURVE; pin the keys on both (rvgadm trust) or opt both out");
      break;
    case HandshakeWatch::Kind::kCryptographic:
      SetError("CURVE handshake with " + config_.address + " failed: the key pinned for " + sec +
               " is not its key; pin its rvgadm pubkey: rvgadm trust " + rvg + " " + sec + " KEY");
      break;
    case HandshakeWatch::Kind::kOther:
      // A secondary that cannot open our box (we pinned the wrong server
      // key) just closes the connection: from here that looks like any
      // other broken handshake, so the message names both causes.
      if (config_.insecure) {
        SetError("handshake with " + config_.address + " did not complete (the connection broke "
                 "off); retrying");
      } else {
        SetError("CURVE handshake with " + config_.address + " did not complete (the secondary "
                 "closed the connection); if this persists, check that the key pinned for " +
                 sec + " is its rvgadm pubkey: rvgadm trust " + rvg + " " + sec + " KEY");
      }
      break;
  }
}

void RlinkSender::SendHello() {
  HelloMsg h;
  h.rvg_name = config_.rvg_name;
  h.rvg_uuid = config_.rvg_uuid;
  // The seq before the history: it then lies within the history sent.
  const uint64_t last_seq = engine_->synced_seq();
  session_line_version_ = config_.line->version();
  session_history_ = config_.line->history();
  session_generation_ = session_history_.back().uuid;
  h.generation = session_generation_;
  h.host = config_.host;
  h.history = session_history_;
  h.rlink_name = config_.rlink_name;
  h.session_id = session_id_;
  h.last_seq = last_seq;
  h.first_seq = engine_->srl_tail_seq();
  h.covered_from = covered_from_;
  for (const VolumeSpec& v : config_.volumes) h.volumes.push_back({v.id, v.name, v.size});
  if (SendMessage(*socket_, {}, Encode(h), nullptr)) {
    hello_sent_ = Clock::now();
  } else {
    // Not connected yet (ZMQ_IMMEDIATE): the poll wakes when the connection
    // is up, so the HELLO leaves then rather than at the next idle tick.
    blocked_ = true;
  }
}

void RlinkSender::Run() {
  std::vector<zmq::message_t> frames;
  while (!stop_) {
    if (retry_state_) {
      // The RLINK left the state that refused the session (startrep): try now.
      if (rlinks_->state(index_) != *retry_state_) retry_after_ = Clock::time_point{};
      if (Clock::now() >= retry_after_) retry_state_.reset();
    }
    if (halted_ || Clock::now() < retry_after_ || (!socket_ && SourceWaitHolds())) {
      zmq::pollitem_t idle{nullptr, wakeup_->fd(), ZMQ_POLLIN, 0};
      zmq::poll(&idle, 1, std::chrono::milliseconds(200));
      if (idle.revents & ZMQ_POLLIN) wakeup_->Drain();
      continue;
    }
    if (!socket_ && !OpenSocket()) {
      retry_after_ = Clock::now() + config_.hello_retry;
      continue;
    }
    auto now = Clock::now();
    if (!connected_ && now - hello_sent_ >= config_.hello_retry) SendHello();

    zmq::pollitem_t items[2] = {
        {socket_->handle(), 0, static_cast<short>(ZMQ_POLLIN | (blocked_ ? ZMQ_POLLOUT : 0)), 0},
        {nullptr, wakeup_->fd(), ZMQ_POLLIN, 0},
    };
    zmq::poll(items, 2, PollTimeout());
    if (items[1].revents & ZMQ_POLLIN) wakeup_->Drain();
    if (items[0].revents & ZMQ_POLLOUT) blocked_ = false;
    if (!connected_) TakeHandshakeEvents();

    while (socket_ && ReceiveMessage(*socket_, &frames)) HandleMessage(frames);
    if (!socket_) continue;

    now = Clock::now();
    if (connected_ && !rlinks_->SessionIsUp(index_)) {
      // The state machine ended the session (stoprep, or stale by srlprot):
      // a new one finds out what the RLINK may do now.
      CloseSession("the RLINK was stopped or went stale");
      continue;
    }
    if (connected_ && GenerationChanged()) continue;
    if (connected_) {
      if (now - last_heard_ > config_.dead_timeout) {
        errors_.Count(LinkError::kTimeout);
        SetError("no answer from " + config_.address + " for " +
                 std::to_string(config_.dead_timeout.count() / 1000) + "s; reconnecting");
        CloseSession("secondary silent", false);
        continue;
      }
      if (streamer_ && (streamer_->active() || rlinks_->Tracking(index_))) {
        verifier_->Abort("a resync began: the secondary is not a copy to verify until it ends");
        PumpResync();
      } else {
        SendRecords();
        if (connected_ && !blocked_ && verifier_->running() &&
            !verifier_->Pump(*socket_, session_id_, progress_.data_acked_seq.load())) {
          Blocked();
        }
      }
      if (connected_ && !blocked_) PumpHandover();
      if (connected_ && !blocked_ && now - last_sent_ >= config_.heartbeat) {
        PingMsg p{session_id_, engine_->synced_seq()};
        if (SendMessage(*socket_, {}, Encode(p), nullptr)) last_sent_ = now;
      }
    }
  }
  CloseSession("rvgd stopping");
}

void RlinkSender::HandleMessage(std::vector<zmq::message_t>& frames) {
  if (frames.size() != 1) {
    rejected_.Count(RejectReason::kMalformed);
    spdlog::warn("rlink {}: dropped a {}-frame message from the secondary", config_.rlink_name,
                 frames.size());
    return;
  }
  Result<Message> decoded = DecodeHeader(frames[0].data(), frames[0].size());
  if (!decoded.ok()) {
    rejected_.Count(RejectReason::kMalformed);
    spdlog::warn("rlink {}: dropped a message from the secondary: {}", config_.rlink_name,
                 decoded.status().message());
    return;
  }
  Message& msg = decoded.value();
  if (auto* w = std::get_if<WelcomeMsg>(&msg)) {
    if (InSession(w->session_id, false)) OnWelcome(*w);
  } else if (auto* d = std::get_if<DirtyMsg>(&msg)) {
    if (InSession(d->session_id, false)) OnDirty(*d);
  } else if (auto* h = std::get_if<HandedMsg>(&msg)) {
    if (InSession(h->session_id, true)) OnHanded(*h);
  } else if (auto* a = std::get_if<AckMsg>(&msg)) {
    if (!InSession(a->session_id, true)) return;
    last_heard_ = Clock::now();
    // An ack past what was sent in this session cannot be genuine.
    uint64_t sent = progress_.sent_seq.load();
    const uint64_t received = std::min(a->received_seq, sent);
    const uint64_t applied = std::min(a->applied_seq, sent);
    // Timed first: whoever sees the acked seqs move sees their latencies.
    ack_timer_.Acked(received, applied, last_heard_);
    rlinks_->Acked(index_, received, applied);
    if (streamer_ && streamer_->active()) {
      streamer_->Acked(a->regions_done);
      // Only the secondary's word that the end itself is durable ends it.
      if (resync_end_sent_ && a->regions_done >= resync_end_number_) EndResync();
    }
  } else if (auto* c = std::get_if<ComparedMsg>(&msg)) {
    if (!InSession(c->session_id, true)) return;
    last_heard_ = Clock::now();
    for (const bool same : {true, false}) {
      for (uint64_t number : same ? c->same : c->differ) {
        if (c->kind == CompareKind::kVerify) {
          verifier_->Compared(number, same, c->seq);
        } else if (streamer_ && streamer_->active()) {
          streamer_->Compared(number, same);
        }
      }
    }
  } else if (auto* n = std::get_if<NackMsg>(&msg)) {
    if (!InSession(n->session_id, true)) return;
    last_heard_ = Clock::now();
    if (n->from_seq < next_send_ && n->from_seq > progress_.data_acked_seq.load()) {
      spdlog::info("rlink {}: secondary asks again for seq {}..{}", config_.rlink_name,
                   n->from_seq, n->to_seq);
      next_send_ = n->from_seq;
    }
  } else if (auto* r = std::get_if<RejectMsg>(&msg)) {
    if (r->session_id != 0 && !InSession(r->session_id, connected_)) return;
    errors_.Count(LinkError::kRefused);
    CloseSession(r->reason, false);
    if (!r->history.empty() && OnHistoryRefusal(*r)) return;  // reported there
    if (r->retry) {
      SetError("secondary refused the session: " + r->reason);
    } else {
      // Only an administrator can fix it: say so, and ask again seldom.
      Fail("secondary refused replication: " + r->reason);
      retry_after_ = Clock::now() + std::chrono::seconds(5);
    }
  } else {
    rejected_.Count(RejectReason::kMalformed);
    spdlog::warn("rlink {}: dropped an unexpected message type from the secondary",
                 config_.rlink_name);
  }
}

void RlinkSender::OnWelcome(const WelcomeMsg& w) {
  welcomed_ = true;
  const bool failback = w.fork_seq != 0;
  if (w.rvg_uuid != config_.rvg_uuid || (!failback && w.generation != session_generation_)) {
    rejected_.Count(RejectReason::kRefused);
    SetError("secondary answered for another RVG or generation; refusing it");
    CloseSession("wrong RVG in WELCOME");
    return;
  }
  if (failback && !AcceptFailback(w)) return;
  // A failback resyncs everything from the fork on: the secondary's seqs
  // there are of the replaced line.
  const uint64_t applied = failback ? w.fork_seq - 1 : w.applied_seq;
  uint64_t last = engine_->last_seq();
  if (applied > last) {
    SetError("secondary holds seq " + std::to_string(applied) +
             " but this primary's newest is " + std::to_string(last) +
             ": histories diverged; not replicating (needs resolve)");
    CloseSession("secondary ahead of primary");
    return;
  }
  uint64_t resume = applied + 1;
  // An RLINK in DCM is owed regions, not records: the SRL need not hold
  // its resume point.
  const bool owed_regions = rlinks_->Tracking(index_) || rlinks_->ResyncSeq(index_);
  if (owed_regions && !failback && applied < progress_.data_acked_seq.load()) {
    // It lost writes it had acknowledged (restored, or its SRL redone):
    // those are in neither the bitmap nor the stream.
    rlinks_->MarkStale(index_, "the secondary lost acknowledged writes");
    SetError("secondary is at seq " + std::to_string(applied) + " but had acknowledged " +
             std::to_string(progress_.data_acked_seq.load()) +
             ": it needs a full sync (rvgadm startrep --full)");
    CloseSession("secondary went back");
    return;
  }
  if (!owed_regions && resume < engine_->srl_tail_seq()) {
    rlinks_->MarkStale(index_, "the SRL no longer holds what it needs");
    SetError("secondary is at seq " + std::to_string(applied) +
             " but the SRL only holds from seq " + std::to_string(engine_->srl_tail_seq()) +
             ": it needs a full sync");
    CloseSession("secondary too far behind");
    return;
  }
  progress_.sent_seq = applied;
  ack_timer_.Resume(applied);  // held before this session: not timed here
  // Read before the refusal: a startrep while the session closes must
  // count as a change.
  const RlinkState refused_in = rlinks_->state(index_);
  if (!rlinks_->SessionUp(index_, applied)) {
    SetError("RLINK is stale: the secondary needs a full sync (rvgadm startrep --full)");
    CloseSession("stale RLINK");
    retry_after_ = Clock::now() + std::chrono::seconds(5);
    retry_state_ = refused_in;
    return;
  }
  // After SessionUp: the rotation at a session loss (SessionLossRotation)
  // must never find a peer that has seen the generation without a session.
  if (config_.peer_accepted) config_.peer_accepted(w.generation);
  SessionWelcomed();
  connected_ = true;
  retry_state_.reset();
  last_heard_ = Clock::now();
  last_sent_ = last_heard_;
  next_send_ = resume;
  SetError("");
  spdlog::info("rlink {}: connected to {}, resuming at seq {}", config_.rlink_name,
               config_.address, resume);
}

void RlinkSender::SendRecords() {
  if (!rlinks_->MaySend(index_)) return;  // paused
  uint64_t synced = engine_->synced_seq();
  while (connected_ && !blocked_ && next_send_ <= synced && !stop_) {
    // Window: data bytes sent but not yet data-acked.
    uint64_t acked = progress_.data_acked_seq.load();
    uint64_t in_flight = engine_->BytesAfter(acked) - engine_->BytesAfter(next_send_ - 1);
    uint64_t writes_in_flight = next_send_ - 1 - std::min(acked, next_send_ - 1);
    const uint64_t window =
        sending_from_.load() == static_cast<int>(PrimaryRvg::RecordSource::kSrl)
            ? std::min(config_.window_bytes, config_.read_back_window_bytes)
            : config_.window_bytes;
    if (acked + 1 < next_send_ &&
        (in_flight >= window || writes_in_flight >= config_.window_writes)) {
      return;
    }
    const Clock::duration throttle = TrafficDelay();
    if (throttle > Clock::duration::zero()) {
      throttled_until_ = Clock::now() + throttle;
      return;
    }

    // A record synced after a new generation began may belong to it.
    if (GenerationChanged()) return;
    PrimaryRvg::RecordSource source = PrimaryRvg::RecordSource::kMemory;
    Result<WriteRecord> rec = engine_->GetRecord(next_send_, &source);
    if (!rec.ok()) {
      errors_.Count(LinkError::kSrlRead);
      std::string why = "cannot read seq " + std::to_string(next_send_) + " back: " +
                        rec.status().message();
      if (rec.status().code() == ENOENT) {
        // The tail moved past it (the RLINK was stale): a new session
        // finds out where the secondary is and whether the SRL covers it.
        SetError(why);
        CloseSession("read-back failed");
        return;
      }
      Fail(why + "; replication on this RLINK is halted until rvgd is restarted");
      CloseSession("damaged SRL record");
      halted_ = true;
      return;
    }
    WriteMsg m;
    m.rvg_uuid = config_.rvg_uuid;
    m.generation = session_generation_;
    m.session_id = session_id_;
    m.seq = rec->seq;
    m.volume = rec->volume;
    m.offset = rec->offset;
    m.length = rec->length;
    m.data_crc = rec->data_crc;
    m.waited = rlinks_->DataAckAwaited(index_);
    if (!SendMessage(*socket_, {}, Encode(m), rec->data)) {
      Blocked();
      return;
    }
    ChargeTraffic(rec->length);
    sending_from_ = static_cast<int>(source);
    last_sent_ = Clock::now();
    ack_timer_.Sent(next_send_, last_sent_);
    progress_.sent_seq = next_send_;
    ++next_send_;
  }
}

bool RlinkSender::InSession(uint64_t session_id, bool connected) {
  if (session_id == session_id_ && connected_ == connected) return true;
  rejected_.Count(RejectReason::kSession);
  return false;
}

void RlinkSender::Blocked() {
  blocked_ = true;
  errors_.Count(LinkError::kSendBlocked);
}

}  // namespace rvg
