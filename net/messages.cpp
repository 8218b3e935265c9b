// RLINK wire messages: msgpack encoding, defensive decoding, WRITE checks.
//
// The key names and value rules implemented here are specified in
// doc/wire-protocol.md; keep the two in step.
#include "net/messages.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <exception>
#include <new>
#include <string_view>
#include <utility>

#include <msgpack.hpp>

#include "core/crc32c.h"
#include "core/record.h"
#include "core/text.h"
#include "net/msg_codec.h"

namespace rvg {

using namespace msg_codec;

namespace {

const char* TypeLabel(MsgType type) {
  switch (type) {
    case MsgType::kHello: return "HELLO";
    case MsgType::kWelcome: return "WELCOME";
    case MsgType::kReject: return "REJECT";
    case MsgType::kWrite: return "WRITE";
    case MsgType::kAck: return "ACK";
    case MsgType::kNack: return "NACK";
    case MsgType::kPing: return "PING";
    case MsgType::kRegion: return "REGION";
    case MsgType::kResync: return "RESYNC";
    case MsgType::kCompare: return "COMPARE";
    case MsgType::kCompared: return "COMPARED";
    case MsgType::kDirty: return "DIRTY";
    case MsgType::kHandover: return "HANDOVER";
    case MsgType::kHanded: return "HANDED";
  }
  return "unknown";
}

// The one rule on a WRITE's length, shared by decoding and ValidateWrite.
bool WriteLengthOk(uint64_t length) { return length >= 1 && length <= kMaxWriteBytes; }

std::string WriteLengthProblem(uint64_t length) {
  return fmt::format("length {} is outside 1..{}", length, kMaxWriteBytes);
}

// ---------------------------------------------------------------------------
// Encoding

void PackVolume(Packer& packer, const VolumeInfo& v) {
  packer.pack_map(3);
  PackStr(packer, "id");
  packer.pack_uint32(v.id);
  PackStr(packer, "name");
  PackStr(packer, v.name);
  PackStr(packer, "size");
  packer.pack_uint64(v.size);
}

// ---------------------------------------------------------------------------
// Decoding



Result<Message> Finish(const FieldReader& r, Message m) {
  if (!r.ok()) return r.status();
  return m;
}

Result<Message> ParseHello(FieldReader& r) {
  HelloMsg m;
  m.rvg_name = r.Name("rvg");
  m.rvg_uuid = r.String("uuid", kMaxStringBytes);
  m.generation = r.String("gen", kMaxStringBytes);
  m.rlink_name = r.Name("rl");
  m.session_id = r.SessionId();
  m.last_seq = r.Uint("last");
  m.first_seq = r.Uint("first");
  m.covered_from = r.OptionalUint("covered", 0);
  m.host = r.String("host", kMaxNameBytes);
  m.history = ReadHistory(r, "hist", false);
  const msgpack::object_array* vols = r.Array("vols");
  if (!r.ok()) return r.status();
  if (vols->size > kMaxVolumes) {
    r.Fail(fmt::format("{} volumes listed, at most {} allowed", vols->size, kMaxVolumes));
    return r.status();
  }
  m.volumes.reserve(vols->size);
  for (uint32_t i = 0; i < vols->size; ++i) {
    const msgpack::object& entry = vols->ptr[i];
    if (entry.type != msgpack::type::MAP) {
      r.Fail(fmt::format("vols[{}] must be a map, got {}", i, ObjectTypeName(entry.type)));
      return r.status();
    }
    FieldReader vr(entry.via.map, fmt::format("HELLO vols[{}]", i));
    VolumeInfo v;
    v.id = vr.Uint32("id");
    v.name = vr.Name("name");
    v.size = vr.Uint("size");
    if (!vr.ok()) return vr.status();
    m.volumes.push_back(std::move(v));
  }
  // Volume ids identify volumes across hosts; a repeated id is ambiguous.
  std::vector<uint32_t> ids;
  ids.reserve(m.volumes.size());
  for (const VolumeInfo& v : m.volumes) ids.push_back(v.id);
  std::sort(ids.begin(), ids.end());
  auto dup = std::adjacent_find(ids.begin(), ids.end());
  if (dup != ids.end()) r.Fail(fmt::format("volume id {} listed more than once", *dup));
  return Finish(r, std::move(m));
}

Result<Message> ParseWelcome(FieldReader& r) {
  WelcomeMsg m;
  m.rvg_uuid = r.String("uuid", kMaxStringBytes);
  m.generation = r.String("gen", kMaxStringBytes);
  m.session_id = r.SessionId();
  m.applied_seq = r.Uint("app");
  m.host = r.String("host", kMaxNameBytes);
  m.history = ReadHistory(r, "hist", false);
  m.fork_seq = r.OptionalUint("fork", 0);
  return Finish(r, std::move(m));
}

Result<Message> ParseReject(FieldReader& r) {
  RejectMsg m;
  m.session_id = r.Uint("sid");  // 0 is allowed: a refusal before any session
  m.reason = r.String("why", kMaxStringBytes);
  m.retry = r.Bool("retry");
  m.history = ReadHistory(r, "hist", true);
  m.last_seq = r.OptionalUint("last", 0);
  m.primary = r.OptionalBool("prim", false);
  return Finish(r, std::move(m));
}

Result<Message> ParseWrite(FieldReader& r, bool region) {
  WriteMsg m;
  m.region = region;
  m.rvg_uuid = r.String("uuid", kMaxStringBytes);
  m.generation = r.String("gen", kMaxStringBytes);
  m.session_id = r.SessionId();
  m.seq = r.Uint("seq");
  m.volume = r.Uint32("vol");
  m.offset = r.Uint("off");
  m.length = r.Uint32("len");
  m.data_crc = r.Uint32("crc");
  m.waited = r.OptionalBool("wait", true);
  if (r.ok() && !WriteLengthOk(m.length)) r.Fail(WriteLengthProblem(m.length));
  return Finish(r, std::move(m));
}

Result<Message> ParseAck(FieldReader& r) {
  AckMsg m;
  m.session_id = r.SessionId();
  m.received_seq = r.Uint("rcv");
  m.applied_seq = r.Uint("app");
  m.regions_done = r.Uint("rg");
  return Finish(r, m);
}

Result<Message> ParseResync(FieldReader& r) {
  ResyncMsg m;
  m.session_id = r.SessionId();
  m.begin = r.Bool("begin");
  m.seq = r.Uint("seq");
  m.number = r.Uint("n");
  return Finish(r, m);
}

Result<Message> ParseNack(FieldReader& r) {
  NackMsg m;
  m.session_id = r.SessionId();
  m.from_seq = r.Uint("from");
  m.to_seq = r.Uint("to");
  if (r.ok() && m.from_seq > m.to_seq) {
    r.Fail(fmt::format("range {}..{} is backwards (from > to)", m.from_seq, m.to_seq));
  } else if (r.ok() && m.from_seq == 0) {  // to_seq >= from_seq, so only from can be 0
    r.Fail(fmt::format("range {}..{} includes seq 0; seqs start at 1", m.from_seq, m.to_seq));
  }
  return Finish(r, m);
}

Result<Message> ParsePing(FieldReader& r) {
  PingMsg m;
  m.session_id = r.SessionId();
  m.last_seq = r.Uint("last");
  return Finish(r, m);
}

Status HeaderError(const std::string& problem) {
  return Status::Error("malformed header: " + problem, EPROTO);
}

Result<Message> DecodeMap(const msgpack::object_map& map) {
  FieldReader r(map, "header");
  // The version is checked before the type: another version may number
  // its types differently.
  const uint64_t version = r.Uint("v");
  const uint64_t type = r.Uint("t");
  if (!r.ok()) return r.status();
  if (version != kProtocolVersion) {
    return Status::Error(fmt::format("peer speaks protocol version {}, this rvg speaks {}; "
                                     "run the same rvg release on both hosts",
                                     version, kProtocolVersion),
                         EPROTO);
  }
  if (type < static_cast<uint64_t>(MsgType::kHello) ||
      type > static_cast<uint64_t>(MsgType::kHanded)) {
    return HeaderError(fmt::format("unknown message type {}", type));
  }
  const MsgType msg_type = static_cast<MsgType>(type);
  r.set_where(TypeLabel(msg_type));
  switch (msg_type) {
    case MsgType::kHello: return ParseHello(r);
    case MsgType::kWelcome: return ParseWelcome(r);
    case MsgType::kReject: return ParseReject(r);
    case MsgType::kWrite: return ParseWrite(r, false);
    case MsgType::kRegion: return ParseWrite(r, true);
    case MsgType::kResync: return ParseResync(r);
    case MsgType::kAck: return ParseAck(r);
    case MsgType::kNack: return ParseNack(r);
    case MsgType::kPing: return ParsePing(r);
    case MsgType::kCompare: return ParseCompare(r);
    case MsgType::kCompared: return ParseCompared(r);
    case MsgType::kDirty: return ParseDirty(r);
    case MsgType::kHandover: return ParseHandover(r);
    case MsgType::kHanded: return ParseHanded(r);
  }
  return Status::Error("internal: unhandled message type", EPROTO);
}

// Everything DecodeHeader does; may throw whatever msgpack throws.
Result<Message> DecodeOrThrow(const char* data, size_t size) {
  const msgpack::unpack_limit limit(kUnpackMaxArray, kUnpackMaxMap, kUnpackMaxStr,
                                    kUnpackMaxBin, kUnpackMaxExt, kUnpackMaxDepth);
  size_t offset = 0;
  msgpack::object_handle handle =
      msgpack::unpack(data, size, offset, nullptr, nullptr, limit);
  if (offset != size) {
    return HeaderError(fmt::format("{} byte(s) left over after the msgpack map", size - offset));
  }
  const msgpack::object& root = handle.get();
  if (root.type != msgpack::type::MAP) {
    return HeaderError(fmt::format("top level is {}, not a map", ObjectTypeName(root.type)));
  }
  return DecodeMap(root.via.map);
}

}  // namespace

std::string Encode(const HelloMsg& m) {
  HeaderPacker p(MsgType::kHello, m.covered_from != 0 ? 11 : 10);
  p.Str("rvg", m.rvg_name);
  p.Str("uuid", m.rvg_uuid);
  p.Str("gen", m.generation);
  p.Str("rl", m.rlink_name);
  p.Uint("sid", m.session_id);
  p.Uint("last", m.last_seq);
  p.Uint("first", m.first_seq);
  if (m.covered_from != 0) p.Uint("covered", m.covered_from);
  p.Str("host", m.host);
  PackHistory(p, "hist", m.history);
  p.ArrayStart("vols", static_cast<uint32_t>(m.volumes.size()));
  for (const VolumeInfo& v : m.volumes) PackVolume(p.packer(), v);
  return p.Finish();
}

std::string Encode(const WelcomeMsg& m) {
  HeaderPacker p(MsgType::kWelcome, m.fork_seq != 0 ? 7 : 6);
  p.Str("uuid", m.rvg_uuid);
  p.Str("gen", m.generation);
  p.Uint("sid", m.session_id);
  p.Uint("app", m.applied_seq);
  p.Str("host", m.host);
  PackHistory(p, "hist", m.history);
  if (m.fork_seq != 0) p.Uint("fork", m.fork_seq);
  return p.Finish();
}

std::string Encode(const RejectMsg& m) {
  const bool history = !m.history.empty();
  HeaderPacker p(MsgType::kReject, history ? 6 : 3);
  p.Uint("sid", m.session_id);
  p.Str("why", ClipReason(m.reason));
  p.Bool("retry", m.retry);
  if (history) {
    PackHistory(p, "hist", m.history);
    p.Uint("last", m.last_seq);
    p.Bool("prim", m.primary);
  }
  return p.Finish();
}

std::string Encode(const WriteMsg& m) {
  // "wait" only when false: absent means true, and the common header of a
  // waited-for write stays as small as it was.
  HeaderPacker p(m.region ? MsgType::kRegion : MsgType::kWrite, m.waited ? 8 : 9);
  p.Str("uuid", m.rvg_uuid);
  p.Str("gen", m.generation);
  p.Uint("sid", m.session_id);
  p.Uint("seq", m.seq);
  p.Uint("vol", m.volume);
  p.Uint("off", m.offset);
  p.Uint("len", m.length);
  p.Uint("crc", m.data_crc);
  if (!m.waited) p.Bool("wait", false);
  return p.Finish();
}

std::string Encode(const AckMsg& m) {
  HeaderPacker p(MsgType::kAck, 4);
  p.Uint("sid", m.session_id);
  p.Uint("rcv", m.received_seq);
  p.Uint("app", m.applied_seq);
  p.Uint("rg", m.regions_done);
  return p.Finish();
}

std::string Encode(const ResyncMsg& m) {
  HeaderPacker p(MsgType::kResync, 4);
  p.Uint("sid", m.session_id);
  p.Bool("begin", m.begin);
  p.Uint("seq", m.seq);
  p.Uint("n", m.number);
  return p.Finish();
}

std::string Encode(const NackMsg& m) {
  HeaderPacker p(MsgType::kNack, 3);
  p.Uint("sid", m.session_id);
  p.Uint("from", m.from_seq);
  p.Uint("to", m.to_seq);
  return p.Finish();
}

std::string Encode(const PingMsg& m) {
  HeaderPacker p(MsgType::kPing, 2);
  p.Uint("sid", m.session_id);
  p.Uint("last", m.last_seq);
  return p.Finish();
}

Result<Message> DecodeHeader(const void* data, size_t size) {
  if (size > kMaxHeaderBytes) {
    return HeaderError(fmt::format("frame is {} bytes, the limit is {}", size, kMaxHeaderBytes));
  }
  if (size == 0) return HeaderError("empty frame");
  // Nothing may escape: a peer's bytes must never take the daemon down.
  try {
    return DecodeOrThrow(static_cast<const char*>(data), size);
  } catch (const msgpack::insufficient_bytes&) {
    return HeaderError(fmt::format("truncated msgpack ({} bytes)", size));
  } catch (const msgpack::size_overflow&) {
    return HeaderError("msgpack array, map, string or nesting exceeds the header limits");
  } catch (const msgpack::unpack_error&) {
    return HeaderError("not valid msgpack");
  } catch (const std::bad_alloc&) {
    return HeaderError("out of memory while decoding");
  } catch (const std::exception& e) {
    return HeaderError(fmt::format("cannot decode: {}", e.what()));
  } catch (...) {
    return HeaderError("cannot decode: unknown exception");
  }
}

Status ValidateWrite(const WriteMsg& m, const std::string& rvg_uuid, const std::string& generation,
                     uint64_t session_id, const std::vector<VolumeSpec>& volumes,
                     const void* data, size_t data_size) {
  // Messages are formatted only on failure: this runs once per write.
  const char* what = m.region ? "REGION" : "WRITE seq";
  auto fail = [&m, what](const std::string& problem) {
    return Status::Error(fmt::format("{} {}: {}", what, m.seq, problem), EPROTO);
  };
  auto fail_volume = [&m, what](const std::string& problem) {
    return Status::Error(fmt::format("{} {} for volume {}: {}", what, m.seq, m.volume, problem),
                         EPROTO);
  };
  if (m.rvg_uuid != rvg_uuid) {
    return fail(fmt::format("rvg uuid {} is not this RVG's uuid {}", m.rvg_uuid, rvg_uuid));
  }
  if (m.generation != generation) {
    return fail(fmt::format("generation {} is not the current generation {}", m.generation,
                            generation));
  }
  if (m.session_id != session_id) {
    return fail(fmt::format("session {:#x} is not the current session {:#x}", m.session_id,
                            session_id));
  }
  if (!WriteLengthOk(m.length)) return fail(WriteLengthProblem(m.length));
  auto volume = std::find_if(volumes.begin(), volumes.end(),
                             [&m](const VolumeSpec& v) { return v.id == m.volume; });
  if (volume == volumes.end()) return fail_volume("no such volume");
  // Written as two comparisons so that offset + length cannot wrap.
  if (m.offset > volume->size || m.length > volume->size - m.offset) {
    return fail_volume(fmt::format("{} bytes at offset {} run past the end of the {}-byte volume",
                                   m.length, m.offset, volume->size));
  }
  if (data_size != m.length) {
    return fail(fmt::format("data frame has {} bytes, the header says {}", data_size, m.length));
  }
  const uint32_t crc = Crc32c(data, data_size);
  if (crc != m.data_crc) {
    return fail(fmt::format("data checksum mismatch (data {:#010x}, header {:#010x})", crc,
                            m.data_crc));
  }
  return Status::Ok();
}

}  // namespace rvg
