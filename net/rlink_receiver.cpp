#include "net/rlink_receiver.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/range_check.h"
#include "core/text.h"
#include "net/curve_server.h"
#include "net/zmq_util.h"

namespace rvg {

namespace {
using Clock = std::chrono::steady_clock;

// At most this many messages wait in ZeroMQ per connection before it
// stops reading from the network. With frames capped at kMaxWriteBytes
// this bounds what one connection can make ZeroMQ hold; a primary's window
// keeps far fewer in flight.
constexpr int kReceiveQueueMessages = 256;

// ZeroMQ checks ZMQ_MAXMSGSIZE against a frame as it travels, which under
// CURVE is the MESSAGE command: the data plus a command name, a nonce and
// the box's authenticator (about 40 bytes). A largest legal write must pass.
constexpr int64_t kMaxFrameOnWire = kMaxWriteBytes + 256;

std::string ToString(const zmq::message_t& m) {
  return std::string(static_cast<const char*>(m.data()), m.size());
}

// The CURVE key the message's connection proved in the handshake (the user
// id the ZapHandler gave it), or "" on an insecure link.
std::string AuthenticatedKey(zmq::message_t& frame) {
  const char* user = zmq_msg_gets(frame.handle(), "User-Id");
  return user == nullptr ? std::string() : std::string(user);
}

// A received data frame and the DataBuffer over its bytes, in one
// allocation: a record's DataRef aliases it, so the frame lives exactly as
// long as the record and its bytes are never copied. (With CURVE each
// decrypted frame owns exactly its bytes; on an --insecure link ZeroMQ's
// zero-copy receive may share a buffer of a few KiB between small frames,
// which then lives until the last of them is applied: bounded, and labs
// only.)
struct ReceivedData {
  explicit ReceivedData(zmq::message_t&& received)
      : frame(std::move(received)), buffer(static_cast<uint8_t*>(frame.data()), frame.size()) {}
  zmq::message_t frame;
  DataBuffer buffer;
};

// What the primary is told, in a REJECT with retry=false, once the applier
// has stopped.
std::string ApplierDownReason(const Status& health) {
  return "secondary cannot apply writes: " + health.message() +
         "; fix it and restart rvgd on the secondary";
}
}  // namespace

RlinkReceiver::RlinkReceiver(RlinkReceiverConfig config, SecondaryApplier* applier,
                             HistoryHooks hooks, zmq::context_t* context)
    : config_(std::move(config)),
      applier_(applier),
      hooks_(std::move(hooks)),
      context_(context),
      wakeup_(Wakeup::Create()),
      gate_(config_.gate) {}

RlinkReceiver::~RlinkReceiver() { Stop(); }

Status RlinkReceiver::OpenSocket() {
  ServerSocketOptions options;
  options.rvg_name = config_.rvg_name;
  options.listen = config_.listen;
  options.insecure = config_.insecure;
  options.secret_key = config_.secret_key;
  options.peer_keys = config_.primary_keys;
  options.max_frame_bytes = kMaxFrameOnWire;
  options.receive_queue = kReceiveQueueMessages;
  std::unique_ptr<HandshakeWatch> watch;
  Result<ServerSocket> server = BindServerSocket(context_, options, [&](zmq::socket_t& socket) {
    watch = std::make_unique<HandshakeWatch>(*context_, socket);
  });
  if (!server.ok()) return server.status();
  zap_ = std::move(server->zap);
  socket_ = std::move(server->socket);
  watch_ = std::move(watch);
  return Status::Ok();
}

Status RlinkReceiver::Start() {
  Status st = OpenSocket();
  if (!st.ok()) return st;
  acked_applied_ = applier_->applied_seq();
  acked_received_ = applier_->received_seq();
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void RlinkReceiver::Stop() {
  stop_ = true;
  wakeup_->Signal();
  if (thread_.joinable()) thread_.join();
  watch_.reset();
  socket_.reset();
  zap_.reset();
}

RlinkReceiver::Session RlinkReceiver::CurrentSession() const {
  std::lock_guard<std::mutex> lock(mu_);
  return gate_.session();
}

std::string RlinkReceiver::peer() const {
  Session s = CurrentSession();
  return s.id == 0 ? "" : s.rlink_name;
}

std::string RlinkReceiver::uuid() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_.rvg_uuid;
}

std::string RlinkReceiver::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_.history.empty() ? std::string() : config_.history.back().uuid;
}

std::chrono::steady_clock::time_point RlinkReceiver::last_heard() const {
  std::lock_guard<std::mutex> lock(mu_);
  return gate_.last_heard();
}

void RlinkReceiver::Run() {
  std::vector<zmq::message_t> frames;
  while (!stop_) {
    WaitForServerWork(*socket_, zap_.get(), *wakeup_, std::chrono::milliseconds(100));
    TakeHandshakeEvents();
    // Take everything waiting before acking, so one ack covers a burst.
    int budget = 1024;
    while (budget-- > 0 && ReceiveMessage(*socket_, &frames)) HandleMessage(frames);
    CheckApplier();
    SendAck();
    MaybeNack();
  }
  // Tell the primary at once, so its RLINK shows disconnected now rather
  // than after its dead timeout; linger lets the REJECT leave before close.
  Session s = CurrentSession();
  if (s.id != 0) {
    Reject(s.peer.connection, s.id, "secondary is stopping", true);
    socket_->set(zmq::sockopt::linger, 500);
  }
}

// Handshakes that failed never produce a message: count them, and log
// them (the ZapHandler logs the keys it refused itself).
void RlinkReceiver::TakeHandshakeEvents() {
  rejected_connections_ = watch_->failures();
  std::optional<HandshakeWatch::Failure> failure = watch_->TakeFailure();
  if (!failure || failure->kind == HandshakeWatch::Kind::kRefused) return;
  uint64_t suppressed = 0;
  if (!handshake_log_.Allow(&suppressed)) return;
  std::string why = "the connection broke off";
  if (failure->kind == HandshakeWatch::Kind::kMechanismMismatch) {
    why = config_.insecure ? "it uses CURVE but this secondary is --insecure"
                           : "it does not use CURVE (an --insecure primary?)";
  } else if (failure->kind == HandshakeWatch::Kind::kCryptographic) {
    why = "it does not know this secondary's public key";
  }
  spdlog::warn("refused a connection from {}: its handshake failed: {}{}",
               Printable(failure->address), why,
               suppressed ? " (" + std::to_string(suppressed) + " more not logged)" : "");
}

void RlinkReceiver::Drop(RejectReason reason, const std::string& why) {
  rejected_.Count(reason);
  uint64_t suppressed = 0;
  if (drop_log_.Allow(&suppressed)) {
    if (suppressed > 0) {
      spdlog::warn("rejected message: {} ({} more rejections not logged)", why, suppressed);
    } else {
      spdlog::warn("rejected message: {}", why);
    }
  }
}

void RlinkReceiver::Reply(const std::string& identity, const std::string& header) {
  zmq::message_t id(identity.data(), identity.size());
  SendMessage(*socket_, {&id}, header, nullptr);
}

void RlinkReceiver::Reject(const std::string& identity, uint64_t session_id,
                           const std::string& why, bool retry) {
  RejectMsg r;
  r.session_id = session_id;
  r.reason = why;
  r.retry = retry;
  Reply(identity, Encode(r));
}

void RlinkReceiver::Refuse(const PeerId& peer, uint64_t session_id, const std::string& why,
                           bool retry) {
  if (!gate_.AllowReply(peer, Clock::now())) return;
  Reject(peer.connection, session_id, peer.key.empty() ? kGenericRefusal : why, retry);
}

void RlinkReceiver::CheckApplier() {
  if (applier_failed_) return;
  Status health = applier_->health();
  if (health.ok()) return;
  applier_failed_ = true;
  const std::string why = ApplierDownReason(health);
  Session s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s = gate_.session();
    gate_.Close();
  }
  spdlog::error("{}; refusing the primary until then", why);
  if (s.id != 0) Refuse(s.peer, s.id, why, false);
}

void RlinkReceiver::HandleMessage(std::vector<zmq::message_t>& frames) {
  // ROUTER prepends the sender's routing id: [id, header] or [id, header, data].
  if (frames.size() < 2 || frames.size() > 3) {
    Drop(RejectReason::kMalformed,
         "message with " + std::to_string(frames.size() - 1) + " frames (expected 1 or 2)");
    return;
  }
  PeerId peer{ToString(frames[0]), AuthenticatedKey(frames[1])};
  if (!config_.insecure && std::find(config_.primary_keys.begin(), config_.primary_keys.end(),
                                     peer.key) == config_.primary_keys.end()) {
    // The ZapHandler admits no other key; this is a second line of defence.
    Drop(RejectReason::kUnauthenticated,
         "message from a connection not authenticated as a pinned host");
    return;
  }
  Result<Message> decoded = DecodeHeader(frames[1].data(), frames[1].size());
  if (!decoded.ok()) {
    Drop(RejectReason::kMalformed, decoded.status().message());
    return;
  }
  Message& msg = decoded.value();
  // A primary's close is taken even after a handover: the old primary
  // stopping after HANDED says goodbye to the session it handed over.
  if (auto* j = std::get_if<RejectMsg>(&msg); j != nullptr && frames.size() == 2) {
    OnPrimaryClose(peer, *j);
    return;
  }
  if (handed_over_) {
    Refuse(peer, 0, "this host is becoming the primary (migrate)", true);
    Drop(RejectReason::kSession, "message after the handover");
    return;
  }
  zmq::message_t* data = frames.size() == 3 ? &frames[2] : nullptr;
  if (auto* w = std::get_if<WriteMsg>(&msg)) {
    OnWrite(peer, *w, data);
    return;
  }
  if (data != nullptr) {
    Drop(RejectReason::kMalformed, "unexpected data frame on a non-WRITE message");
    return;
  }
  if (auto* h = std::get_if<HelloMsg>(&msg)) {
    OnHello(peer, *h);
  } else if (auto* p = std::get_if<PingMsg>(&msg)) {
    std::lock_guard<std::mutex> lock(mu_);
    if (gate_.Admit(peer, p->session_id, Clock::now())) {
      ack_due_ = true;
    } else {
      Drop(RejectReason::kSession, "PING outside the current session");
    }
  } else if (auto* r = std::get_if<ResyncMsg>(&msg)) {
    OnResync(peer, *r);
  } else if (auto* c = std::get_if<CompareMsg>(&msg)) {
    OnCompare(peer, *c);
  } else if (auto* o = std::get_if<HandoverMsg>(&msg)) {
    OnHandover(peer, *o);
  } else {
    Drop(RejectReason::kMalformed, "message type a primary never sends");
  }
}

Status RlinkReceiver::CheckHello(const HelloMsg& h) {
  if (h.rvg_name != config_.rvg_name) {
    return Status::Error("this secondary serves RVG " + config_.rvg_name + ", not " + h.rvg_name);
  }
  if (!config_.rvg_uuid.empty() && h.rvg_uuid != config_.rvg_uuid) {
    return Status::Error("this secondary belongs to RVG uuid " + config_.rvg_uuid +
                         "; the peer is from another RVG (uuid " + h.rvg_uuid + ")");
  }
  if (h.volumes.size() != config_.volumes.size()) {
    return Status::Error("volume layout differs: primary has " + std::to_string(h.volumes.size()) +
                         " volumes, secondary " + std::to_string(config_.volumes.size()));
  }
  for (size_t i = 0; i < h.volumes.size(); ++i) {
    const VolumeInfo& p = h.volumes[i];
    const VolumeSpec& s = config_.volumes[i];
    if (p.id != s.id || p.name != s.name || p.size != s.size) {
      return Status::Error("volume layout differs: primary volume " + p.name + " (id " +
                           std::to_string(p.id) + ", " + std::to_string(p.size) +
                           " bytes) vs secondary volume " + s.name + " (id " +
                           std::to_string(s.id) + ", " + std::to_string(s.size) + " bytes)");
    }
  }
  Status health = applier_->health();
  if (!health.ok()) return Status::Error(ApplierDownReason(health));
  return Status::Ok();
}

void RlinkReceiver::OnHello(const PeerId& peer, const HelloMsg& h) {
  const auto now = Clock::now();
  SessionGate::Screen screen;
  {
    std::lock_guard<std::mutex> lock(mu_);
    screen = gate_.ScreenHello(peer, now);
  }
  if (screen == SessionGate::Screen::kFlood) {
    Drop(RejectReason::kRateLimited, "HELLO over the rate limit (a flood?)");
    return;
  }
  if (screen == SessionGate::Screen::kBusy) {
    Drop(RejectReason::kSession, "HELLO from another connection while primary rlink " +
                                     CurrentSession().rlink_name + " holds a live session");
    Refuse(peer, h.session_id, "another session of this secondary is live", true);
    return;
  }
  Status st = CheckHello(h);
  if (!st.ok()) {
    Drop(RejectReason::kRefused, "HELLO refused: " + st.message());
    Refuse(peer, h.session_id, st.message(), false);
    return;
  }
  RejectMsg refusal;
  uint64_t fork = 0;
  st = DecideHistory(h, peer.key, &refusal, &fork);
  if (!st.ok()) {
    Drop(RejectReason::kRefused, "HELLO refused: " + st.message());
    // Only an authenticated peer learns our history (Refuse's rule).
    if (gate_.AllowReply(peer, now)) {
      if (peer.key.empty()) {  // insecure: nothing disclosed
        refusal = RejectMsg{};
        refusal.retry = false;
      }
      refusal.session_id = h.session_id;
      if (refusal.reason.empty()) refusal.reason = kGenericRefusal;
      Reply(peer.connection, Encode(refusal));
    }
    return;
  }
  bool changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const SessionGate::Session old = gate_.session();
    changed = gate_.Open(peer, h.session_id, h.rlink_name, now);
    if (changed && old.id != 0) {
      replaced_session_id_ = old.id;
      replaced_session_key_ = old.peer.key;
    }
  }
  if (changed) {
    // Writes held past the contiguous run came from the old session; the
    // new one resends whatever it needs, and nothing planted stays.
    size_t dropped = applier_->DropAhead();
    ResetResync();
    spdlog::info("session {:016x} opened by primary rlink {}{}", h.session_id, h.rlink_name,
                 dropped ? " (" + std::to_string(dropped) + " writes held ahead dropped)" : "");
    if (hooks_.followed) hooks_.followed(peer.key, h.host);
  }
  session_history_ = h.history;
  session_host_ = h.host;
  failback_fork_ = fork;
  if (fork != 0) SendFailbackRanges(peer, h.session_id, fork);
  WelcomeMsg w;
  {
    std::lock_guard<std::mutex> lock(mu_);
    w.rvg_uuid = config_.rvg_uuid;
    w.history = config_.history;
  }
  w.generation = w.history.back().uuid;
  w.host = config_.host;
  w.session_id = h.session_id;
  w.fork_seq = fork;
  // Everything up to received_seq is applied or in memory and will be
  // applied, so that is where the primary resumes (in a failback, the
  // primary resyncs from the fork instead).
  w.applied_seq = applier_->received_seq();
  Reply(peer.connection, Encode(w));
  acked_received_ = 0;  // force a fresh ack for the new session
}

void RlinkReceiver::OnWrite(const PeerId& peer, const WriteMsg& m, zmq::message_t* data) {
  uint64_t session_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    session_id = gate_.session().id;
    if (!gate_.Admit(peer, m.session_id, Clock::now())) session_id = 0;
  }
  if (session_id == 0) {
    // Tell the sender, so a primary whose session we lost (we restarted)
    // opens a new one at once rather than waiting for its dead timeout.
    Refuse(peer, m.session_id, "no such session; send HELLO", true);
    Drop(RejectReason::kSession,
         "WRITE seq " + std::to_string(m.seq) + " outside the current session");
    return;
  }
  Status st = ValidateWrite(m, config_.rvg_uuid, session_history_.back().uuid, session_id,
                            config_.volumes, data ? data->data() : nullptr,
                            data ? data->size() : 0);
  if (!st.ok()) {
    Drop(RejectReason::kInvalid, st.message());
    return;
  }
  WriteRecord r;
  r.seq = m.seq;  // a REGION's number in the session
  r.volume = m.volume;
  r.offset = m.offset;
  r.length = m.length;
  r.data_crc = m.data_crc;
  // The frame itself becomes the record's data (ValidateWrite checked that
  // it is exactly m.length bytes).
  auto received = std::make_shared<ReceivedData>(std::move(*data));
  r.data = DataRef(received, &received->buffer);
  if (m.region) {
    // Regions come only inside a resync, numbered one after the other: a
    // gap (one dropped above) or a stray one would leave a region the
    // primary counts as done unwritten here.
    if (!resync_open_ || m.seq != next_region_) {
      ResyncViolation(peer, m.session_id,
                      resync_open_ ? "REGION " + std::to_string(m.seq) + " where " +
                                         std::to_string(next_region_) + " was due"
                                   : "REGION outside a resync");
      return;
    }
    if (!applier_->OfferRegion(std::move(r))) {
      ResyncViolation(peer, m.session_id, "resync data arrived faster than it could be written");
      return;
    }
    ++next_region_;
    return;
  }
  // Unless the primary waits for it, its SRL sync may be grouped with
  // later records' (the data ack then comes a few ms later).
  ReorderBuffer::Offer offer = applier_->Offer(std::move(r), m.waited);
  // Refused for room: the NACK path asks for it again once there is some.
  if (offer == ReorderBuffer::Offer::kTooFarAhead) {
    Drop(RejectReason::kWindow, "WRITE seq " + std::to_string(m.seq) +
                                    " is too far ahead of what this secondary holds");
  } else if (offer == ReorderBuffer::Offer::kNoRoom) {
    Drop(RejectReason::kWindow,
         "WRITE seq " + std::to_string(m.seq) + " does not fit the receive buffer");
  }
}

// The primary sends RESYNC begin before its first REGION and RESYNC end
// after its last; the applier orders the end after every region.
void RlinkReceiver::OnResync(const PeerId& peer, const ResyncMsg& m) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!gate_.Admit(peer, m.session_id, Clock::now())) {
      Drop(RejectReason::kSession, "RESYNC outside the current session");
      return;
    }
  }
  if (m.begin) {
    if (resync_open_) {
      ResyncViolation(peer, m.session_id, "RESYNC begin inside a resync");
      return;
    }
    resync_open_ = true;
    spdlog::warn("bitmap resync from the primary begins: the images are inconsistent until it "
                 "ends");
    return;
  }
  // The end must close an open resync, follow its last region, and not
  // move this secondary back (in a failback: before the fork) or off the
  // end of the seqs.
  const uint64_t held = applier_->received_seq();
  const uint64_t lowest = failback_fork_ != 0 ? failback_fork_ - 1 : held;
  if (!resync_open_ || m.number != next_region_ || m.seq < lowest || m.seq == UINT64_MAX) {
    ResyncViolation(peer, m.session_id,
                    "RESYNC end at seq " + std::to_string(m.seq) + " (number " +
                        std::to_string(m.number) + ") does not close the resync (" +
                        (resync_open_ ? "open" : "none open") + ", region " +
                        std::to_string(next_region_) + " due, seq " + std::to_string(held) +
                        " held)");
    return;
  }
  resync_open_ = false;
  ++next_region_;
  spdlog::info("bitmap resync: every region sent; moving to seq {}", m.seq);
  const bool back = failback_fork_ != 0;
  if (back) {
    // Armed before the applier can take the end: it fires when the end is
    // durable. A later resync of this session is an ordinary one.
    if (hooks_.failback_end) hooks_.failback_end(session_history_);
    failback_fork_ = 0;
  }
  applier_->OfferResyncEnd(m.seq, m.number, back);
}

// Only the session's own peer can close it (Admit's fencing), so a
// stranger's REJECT frees nothing. What the session left buffered stays
// until the next one opens (Open drops it then), as after a silence.
void RlinkReceiver::OnPrimaryClose(const PeerId& peer, const RejectMsg& m) {
  std::string rlink;
  bool closed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (m.session_id != 0 && gate_.Admit(peer, m.session_id, Clock::now())) {
      rlink = gate_.session().rlink_name;
      gate_.Close();
      closed = true;
    }
  }
  if (!closed) {
    // The close of the session a HELLO from the same key just replaced
    // (the goodbye came on the old connection, behind the new HELLO):
    // nothing to do, and nothing hostile to count.
    if (m.session_id != 0 && m.session_id == replaced_session_id_ && !peer.key.empty() &&
        peer.key == replaced_session_key_) {
      return;
    }
    Drop(RejectReason::kSession, "REJECT outside the current session");
    return;
  }
  spdlog::info("session {:016x} closed by primary rlink {}: {}", m.session_id, rlink, m.reason);
}

// A resync message out of place ends the session (the primary starts a new
// one, and a new resync from what is still dirty); nothing is applied.
void RlinkReceiver::ResyncViolation(const PeerId& peer, uint64_t session_id,
                                    const std::string& why) {
  Drop(RejectReason::kResyncOrder, why);
  {
    std::lock_guard<std::mutex> lock(mu_);
    gate_.Close();
  }
  ResetResync();
  Refuse(peer, session_id, "resync out of order: " + why + "; start a new session", true);
}

void RlinkReceiver::ResetResync() {
  applier_->ResetRegions();
  resync_open_ = false;
  next_region_ = 1;
  failback_fork_ = 0;
  // An armed failback end that the applier has not taken will not come.
  if (hooks_.failback_cut) hooks_.failback_cut();
}

void RlinkReceiver::SendAck() {
  Session s = CurrentSession();
  if (s.id == 0) return;
  uint64_t received = applier_->received_seq();
  uint64_t applied = applier_->applied_seq();
  uint64_t regions = applier_->regions_done();
  // After regions_done(): every check it counts has its outcome queued, and
  // the primary must read a check's outcome before the ACK counting it.
  SendCheckResults(s, applier_->TakeCheckResults());
  if (!ack_due_ && received == acked_received_ && applied == acked_applied_ &&
      regions == acked_regions_) {
    return;
  }
  AckMsg a{s.id, received, applied, regions};
  Reply(s.peer.connection, Encode(a));
  acked_received_ = received;
  acked_applied_ = applied;
  acked_regions_ = regions;
  ack_due_ = false;
}

void RlinkReceiver::MaybeNack() {
  Session s = CurrentSession();
  auto gap = applier_->FirstGap();
  if (s.id == 0 || !gap) {
    gap_ = {0, 0};
    return;
  }
  auto now = Clock::now();
  if (*gap != gap_) {
    gap_ = *gap;
    gap_since_ = now;
    return;
  }
  if (now - gap_since_ < config_.nack_after) return;
  NackMsg n{s.id, gap->first, gap->second};
  Reply(s.peer.connection, Encode(n));
  gap_since_ = now;
}

}  // namespace rvg
