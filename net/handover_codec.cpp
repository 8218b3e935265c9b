// HANDOVER and HANDED (migrate): their wire form, doc/wire-protocol.md.
#include "net/msg_codec.h"

namespace rvg::msg_codec {

Result<Message> ParseHandover(FieldReader& r) {
  HandoverMsg m;
  m.session_id = r.SessionId();
  m.seq = r.Uint("seq");
  m.generation = r.String("gen", kMaxStringBytes);
  m.mount = r.String("mount", kMaxMountPathBytes);
  if (r.ok() && m.generation.empty()) r.Fail("key \"gen\" is empty");
  // The secondary mounts there: only an absolute path can mean the same
  // directory whatever rvgd's working directory is.
  if (r.ok() && !m.mount.empty() && m.mount[0] != '/') {
    r.Fail("key \"mount\" must be an absolute path or empty");
  }
  if (!r.ok()) return r.status();
  return Message(std::move(m));
}

Result<Message> ParseHanded(FieldReader& r) {
  HandedMsg m;
  m.session_id = r.SessionId();
  m.accepted = r.Bool("ok");
  m.generation = r.String("gen", kMaxStringBytes);
  m.start_seq = r.Uint("start");
  m.reason = r.String("why", kMaxStringBytes);
  if (r.ok() && m.accepted && (m.generation.empty() || m.start_seq == 0)) {
    r.Fail("an accepted HANDED needs \"gen\" and a non-zero \"start\"");
  }
  if (!r.ok()) return r.status();
  return Message(std::move(m));
}

}  // namespace rvg::msg_codec

namespace rvg {

std::string Encode(const HandoverMsg& m) {
  msg_codec::HeaderPacker p(MsgType::kHandover, 4);
  p.Uint("sid", m.session_id);
  p.Uint("seq", m.seq);
  p.Str("gen", m.generation);
  p.Str("mount", m.mount);
  return p.Finish();
}

std::string Encode(const HandedMsg& m) {
  msg_codec::HeaderPacker p(MsgType::kHanded, 5);
  p.Uint("sid", m.session_id);
  p.Bool("ok", m.accepted);
  p.Str("gen", m.generation);
  p.Uint("start", m.start_seq);
  p.Str("why", msg_codec::ClipReason(m.reason));
  return p.Finish();
}

}  // namespace rvg
