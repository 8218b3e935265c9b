// What failover adds to the wire (doc/wire-protocol.md, protocol 4): the
// generation history — an array of [uuid, start_seq, parent, created_at]
// arrays, oldest first, at most kMaxHistoryEntries of them, checked by
// CheckHistory once read — and the DIRTY message of a fast failback.
#include <fmt/format.h>

#include "net/msg_codec.h"

namespace rvg::msg_codec {

void PackHistory(HeaderPacker& p, std::string_view key, const GenerationHistory& history) {
  const GenerationHistory sent = TrimmedHistory(history);
  p.ArrayStart(key, static_cast<uint32_t>(sent.size()));
  for (const Generation& g : sent) {
    p.packer().pack_array(4);
    PackStr(p.packer(), g.uuid);
    p.packer().pack_uint64(g.start_seq);
    PackStr(p.packer(), g.parent);
    p.packer().pack_int64(g.created_at);
  }
}

GenerationHistory ReadHistory(FieldReader& r, const char* key, bool optional) {
  GenerationHistory history;
  if (optional && !r.Has(key)) return history;
  const msgpack::object_array* entries = r.Array(key);
  if (!r.ok()) return history;
  if (entries->size > kMaxHistoryEntries) {
    r.Fail(fmt::format("key \"{}\" lists {} generations, at most {} allowed", key, entries->size,
                       kMaxHistoryEntries));
    return history;
  }
  for (uint32_t i = 0; i < entries->size; ++i) {
    const msgpack::object& e = entries->ptr[i];
    const msgpack::object* f = e.via.array.ptr;
    const bool shaped = e.type == msgpack::type::ARRAY && e.via.array.size == 4 &&
                        f[0].type == msgpack::type::STR && f[0].via.str.size <= kMaxStringBytes &&
                        f[1].type == msgpack::type::POSITIVE_INTEGER &&
                        f[2].type == msgpack::type::STR && f[2].via.str.size <= kMaxStringBytes &&
                        (f[3].type == msgpack::type::POSITIVE_INTEGER ||
                         f[3].type == msgpack::type::NEGATIVE_INTEGER);
    if (!shaped) {
      r.Fail(fmt::format("key \"{}\"[{}] must be [uuid, start seq, parent, created at]", key, i));
      return history;
    }
    Generation g;
    g.uuid.assign(f[0].via.str.ptr, f[0].via.str.size);
    g.start_seq = f[1].via.u64;
    g.parent.assign(f[2].via.str.ptr, f[2].via.str.size);
    g.created_at = f[3].via.i64;
    if (!IsPrintableUtf8(g.uuid) || !IsPrintableUtf8(g.parent)) {
      r.Fail(fmt::format("key \"{}\"[{}] holds an unprintable uuid", key, i));
      return history;
    }
    history.push_back(std::move(g));
  }
  Status valid = CheckHistory(history);
  if (!valid.ok()) r.Fail(fmt::format("key \"{}\": {}", key, valid.message()));
  return history;
}

Result<Message> ParseDirty(FieldReader& r) {
  DirtyMsg m;
  m.session_id = r.SessionId();
  const msgpack::object_array* ext = r.Array("ext");
  if (!r.ok()) return r.status();
  if (ext->size > kMaxDirtyExtents) {
    r.Fail(fmt::format("key \"ext\" lists {} ranges, at most {} allowed", ext->size,
                       kMaxDirtyExtents));
    return r.status();
  }
  for (uint32_t i = 0; i < ext->size; ++i) {
    const msgpack::object& e = ext->ptr[i];
    const msgpack::object* f = e.via.array.ptr;
    if (e.type != msgpack::type::ARRAY || e.via.array.size != 3 ||
        f[0].type != msgpack::type::POSITIVE_INTEGER || f[0].via.u64 > UINT32_MAX ||
        f[1].type != msgpack::type::POSITIVE_INTEGER ||
        f[2].type != msgpack::type::POSITIVE_INTEGER || f[2].via.u64 == 0 ||
        f[1].via.u64 + f[2].via.u64 < f[1].via.u64) {
      r.Fail(fmt::format("key \"ext\"[{}] must be [volume, offset, length > 0]", i));
      return r.status();
    }
    m.extents.push_back({static_cast<uint32_t>(f[0].via.u64), f[1].via.u64, f[2].via.u64});
  }
  return Message(std::move(m));
}

}  // namespace rvg::msg_codec

namespace rvg {

std::string Encode(const DirtyMsg& m) {
  using namespace msg_codec;
  HeaderPacker p(MsgType::kDirty, 2);
  p.Uint("sid", m.session_id);
  p.ArrayStart("ext", static_cast<uint32_t>(m.extents.size()));
  for (const DirtyExtent& e : m.extents) {
    p.packer().pack_array(3);
    p.packer().pack_uint32(e.volume);
    p.packer().pack_uint64(e.offset);
    p.packer().pack_uint64(e.length);
  }
  return p.Finish();
}

}  // namespace rvg
