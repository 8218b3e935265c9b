// COMPARE and COMPARED: encoding and defensive decoding (doc/wire-protocol.md).
#include <fmt/format.h>

#include "core/record.h"
#include "net/messages.h"
#include "net/msg_codec.h"

namespace rvg {

using namespace msg_codec;

namespace {

// Kinds are numbered on the wire; anything else is refused by the decoder.
CompareKind ReadKind(FieldReader& r) {
  const uint64_t kind = r.Uint("k");
  if (r.ok() && kind != static_cast<uint64_t>(CompareKind::kResync) &&
      kind != static_cast<uint64_t>(CompareKind::kVerify)) {
    r.Fail(fmt::format("key \"k\" value {} is not a comparison kind (1 resync, 2 verify)", kind));
  }
  return static_cast<CompareKind>(kind);
}

uint64_t ReadNumber(FieldReader& r) {
  const uint64_t n = r.Uint("n");
  if (r.ok() && n == 0) r.Fail("key \"n\" is 0; numbers start at 1");
  return n;
}

}  // namespace

namespace msg_codec {

Result<Message> ParseCompare(FieldReader& r) {
  CompareMsg m;
  m.session_id = r.SessionId();
  m.kind = ReadKind(r);
  m.number = ReadNumber(r);
  m.volume = r.Uint32("vol");
  m.offset = r.Uint("off");
  m.length = r.Uint32("len");
  m.hash_high = r.Uint("hh");
  m.hash_low = r.Uint("hl");
  m.after_seq = r.Uint("after");
  if (r.ok() && (m.length == 0 || m.length > kMaxWriteBytes)) {
    r.Fail(fmt::format("length {} is outside 1..{}", m.length, kMaxWriteBytes));
  }
  if (!r.ok()) return r.status();
  return Message(m);
}

Result<Message> ParseCompared(FieldReader& r) {
  ComparedMsg m;
  m.session_id = r.SessionId();
  m.kind = ReadKind(r);
  m.seq = r.Uint("seq");
  const msgpack::object_array* same = r.Array("same");
  const msgpack::object_array* differ = r.Array("differ");
  if (!r.ok()) return r.status();
  if (same->size + differ->size > kMaxComparedNumbers) {
    r.Fail(fmt::format("{} numbers, at most {} allowed", same->size + differ->size,
                       kMaxComparedNumbers));
    return r.status();
  }
  for (auto [array, out] : {std::pair{same, &m.same}, std::pair{differ, &m.differ}}) {
    for (uint32_t i = 0; i < array->size; ++i) {
      const msgpack::object& n = array->ptr[i];
      if (n.type != msgpack::type::POSITIVE_INTEGER || n.via.u64 == 0) {
        r.Fail("a number in \"same\" or \"differ\" is not a positive integer");
        return r.status();
      }
      out->push_back(n.via.u64);
    }
  }
  return Message(std::move(m));
}

}  // namespace msg_codec

std::string Encode(const CompareMsg& m) {
  HeaderPacker p(MsgType::kCompare, 9);
  p.Uint("sid", m.session_id);
  p.Uint("k", static_cast<uint64_t>(m.kind));
  p.Uint("n", m.number);
  p.Uint("vol", m.volume);
  p.Uint("off", m.offset);
  p.Uint("len", m.length);
  p.Uint("hh", m.hash_high);
  p.Uint("hl", m.hash_low);
  p.Uint("after", m.after_seq);
  return p.Finish();
}

std::string Encode(const ComparedMsg& m) {
  HeaderPacker p(MsgType::kCompared, 5);
  p.Uint("sid", m.session_id);
  p.Uint("k", static_cast<uint64_t>(m.kind));
  p.Uint("seq", m.seq);
  for (auto [key, numbers] : {std::pair{"same", &m.same}, std::pair{"differ", &m.differ}}) {
    p.ArrayStart(key, static_cast<uint32_t>(numbers->size()));
    for (uint64_t n : *numbers) p.packer().pack_uint64(n);
  }
  return p.Finish();
}

}  // namespace rvg
