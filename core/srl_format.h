// The on-disk format of the SRL (Storage Replicator Log), version 2.
// Internal to core/srl.cpp and its tests; doc/srl-format.md says the same
// for readers who do not read C++.
//
// FILE LAYOUT
//
// An SRL is one preallocated file. All integers are little-endian.
//
//     offset 0     superblock slot A (4096 bytes)
//     offset 4096  superblock slot B (4096 bytes)
//     offset 8192  data area, up to the end of the file
//
// The data area is (file size - 8192) rounded down to a multiple of 512;
// bytes past it at the end of the file are never used.
//
// SUPERBLOCK (CHECKPOINT)
//
// Each slot holds a complete copy of the superblock; the rest of the slot
// is zero.
//
//     0    8  magic "RVGSRL\0\0"
//     8    4  format version (2; 1 is still read, see below)
//     12   8  slot counter: the slot with the higher counter is newer
//     20   8  file size in bytes
//     28   8  data area size in bytes
//     36  64  RVG uuid, as text, zero-padded
//     100  8  tail_lsn: LSN of the oldest record still needed
//     108  8  tail_seq: seq of the record at tail_lsn (the next seq to be
//             written if the log is empty)
//     116  4  chain_seed: header CRC of the record just before tail_lsn
//             (0 in a new log)
//     120  8  synced_seq: every record up to this seq was durable in the
//             log when the checkpoint was written (version 2 only)
//     128  4  CRC-32C of bytes 0..127
//
// Version 1 had no synced_seq and its CRC at offset 120 over bytes 0..119;
// such a slot is read with synced_seq = 0, and the next checkpoint writes
// version 2.
//
// synced_seq is the floor of recovery: a log whose scan ends below it has
// lost a record that was once durable (and may have been sent to a
// secondary), which is damage, not a torn tail.
// A checkpoint is written into the slot that does NOT hold the current
// winner, with the winner's counter + 1, and made durable with fdatasync
// before any space it frees is reused. A torn checkpoint write therefore
// leaves the previous checkpoint intact in the other slot. Open takes the
// valid slot (right magic, version and CRC) with the higher counter. A slot
// whose magic is right but whose version is newer than 1 was written by a
// newer rvg and is refused, whatever its CRC says, since a newer format may
// checksum differently.
//
// LOG SEQUENCE NUMBERS AND LAPS
//
// A position in the log is a 64-bit log sequence number (LSN) that only
// grows. Byte `lsn` lives at file offset 8192 + lsn % area_size, and
// lap = lsn / area_size counts how many times the log has wrapped. Every
// record carries the lap's salt, CRC-32C over the 64-byte uuid field
// followed by the lap as a u64: a record left over from another lap, or
// another RVG, never validates where the current lap expects a record.
// Records start at LSNs that are multiples of 512 and never straddle the
// end of the area.
//
// RECORDS
//
// A record is a 64-byte header followed by the data, padded with zeros to a
// multiple of 512 bytes (RecordBytesFor()).
//
//     0   4  magic 0x52564752
//     4   2  record format version (1)
//     6   2  type: 1 = WRITE, 2 = WRAP
//     8   4  salt of the lap the record is in
//     12  4  volume id
//     16  8  seq
//     24  8  offset of the write in the volume
//     32  4  data length in bytes (at most 1 MiB)
//     36  4  CRC-32C of the data
//     40  4  record_bytes: header + data + padding
//     44 16  reserved, zero
//     60  4  header CRC: CRC-32C over bytes 0..59, extended from the
//            header CRC of the previous record (the checkpoint's chain_seed
//            for the first record after the tail)
//
// The chained header CRC ties every record to its predecessor. After a
// crash, recovery may stop early (say at a torn record 5) and new records
// then overwrite the log from there; the old record 6 that still sits
// further on, in the same lap, chains from the old record 5 and so does
// not validate behind the new record 5. (Only a new record 5 with a header
// identical to the old one, data CRC included, would let the old record 6
// through, and then the log reads as the old history, which is consistent.)
//
// A WRAP record fills the end of a lap when the next record does not fit
// before the end of the area: type 2, seq = the seq of the record that
// follows it, length 0, record_bytes = the bytes left up to the end of the
// area. Only its header is written. It takes part in the chain, and the
// next record starts at the beginning of the next lap. If fewer than 64
// bytes remain (impossible while everything is 512-aligned), the writer
// skips to the next lap without a WRAP and the reader does the same.
//
// SPACE
//
// used = head_lsn - tail_lsn, where head_lsn is the LSN after the newest
// record; WRAP records and the bytes they skip count as used. An append
// must keep used <= area_size.
//
// RECOVERY
//
// Starting at (tail_lsn, tail_seq, chain_seed), read header after header.
// (The end found this way must not lie below the checkpoint's synced_seq,
// nor below any seq the owner knows was durable — see srl.h.)
// The log ends, without error, at the first header with a wrong magic,
// version, salt, chained CRC or seq (each record must carry the next seq;
// a WRAP the seq of the record after it), an unknown type, a record_bytes
// that disagrees with the length or runs past the end of the area, a
// length over 1 MiB, a record that would make used exceed the area, or at
// a WRITE record whose data fails its CRC. New records are appended right
// after the last valid one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/crc32c.h"

namespace rvg::srl_format {

inline constexpr uint64_t kSlotBytes = 4096;
inline constexpr uint64_t kDataStart = 2 * kSlotBytes;
inline constexpr uint64_t kAlignment = 512;
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr char kSuperblockMagic[8] = {'R', 'V', 'G', 'S', 'R', 'L', '\0', '\0'};
inline constexpr size_t kUuidBytes = 64;
inline constexpr size_t kSuperblockCrcOffset = 128;
inline constexpr size_t kSuperblockCrcOffsetV1 = 120;

inline constexpr uint32_t kRecordMagic = 0x52564752;
inline constexpr uint16_t kRecordVersion = 1;
inline constexpr uint16_t kTypeWrite = 1;
inline constexpr uint16_t kTypeWrap = 2;
inline constexpr size_t kHeaderBytes = 64;
inline constexpr size_t kHeaderCrcOffset = 60;

using UuidField = std::array<uint8_t, kUuidBytes>;

// Little-endian integer of `bytes` bytes at `p`.
inline void PutLe(uint8_t* p, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(value >> (8 * i));
}
inline uint64_t GetLe(const uint8_t* p, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value |= uint64_t{p[i]} << (8 * i);
  return value;
}

// The uuid text zero-padded to the fixed field; false if it is too long.
inline bool MakeUuidField(const std::string& text, UuidField* field) {
  if (text.size() > kUuidBytes) return false;
  field->fill(0);
  std::memcpy(field->data(), text.data(), text.size());
  return true;
}
inline std::string UuidFieldText(const UuidField& field) {
  const auto* chars = reinterpret_cast<const char*>(field.data());
  return std::string(chars, strnlen(chars, field.size()));
}

inline uint64_t AreaSizeFor(uint64_t file_size) {
  return file_size < kDataStart ? 0 : (file_size - kDataStart) / kAlignment * kAlignment;
}

inline uint64_t RecordBytesFor(uint32_t data_length) {
  return (kHeaderBytes + data_length + kAlignment - 1) / kAlignment * kAlignment;
}

inline uint32_t LapSalt(const UuidField& uuid, uint64_t lap) {
  uint8_t lap_bytes[8];
  PutLe(lap_bytes, lap, 8);
  return Crc32cExtend(Crc32c(uuid.data(), uuid.size()), lap_bytes, sizeof(lap_bytes));
}

// A place in the record chain: the LSN where a record starts (or will),
// the seq it carries and the header CRC it chains from. The checkpoint is
// the ChainPosition of the tail: tail_lsn, tail_seq, chain_seed.
struct ChainPosition {
  uint64_t lsn = 0;
  uint64_t seq = 1;
  uint32_t prev_crc = 0;
};

struct Superblock {
  uint32_t version = kFormatVersion;
  uint64_t counter = 0;
  uint64_t file_size = 0;
  uint64_t area_size = 0;
  UuidField uuid{};
  ChainPosition tail;
  uint64_t synced_seq = 0;
};

// Fills the kSlotBytes bytes at `slot`.
inline void EncodeSuperblock(const Superblock& sb, uint8_t* slot) {
  std::memset(slot, 0, kSlotBytes);
  std::memcpy(slot, kSuperblockMagic, sizeof(kSuperblockMagic));
  PutLe(slot + 8, sb.version, 4);
  PutLe(slot + 12, sb.counter, 8);
  PutLe(slot + 20, sb.file_size, 8);
  PutLe(slot + 28, sb.area_size, 8);
  std::memcpy(slot + 36, sb.uuid.data(), kUuidBytes);
  PutLe(slot + 100, sb.tail.lsn, 8);
  PutLe(slot + 108, sb.tail.seq, 8);
  PutLe(slot + 116, sb.tail.prev_crc, 4);
  PutLe(slot + 120, sb.synced_seq, 8);
  PutLe(slot + kSuperblockCrcOffset, Crc32c(slot, kSuperblockCrcOffset), 4);
}

enum class SlotState { kValid, kDamaged, kNewerVersion };

// Decodes the slot at `slot` into `sb` when it is valid; `sb->version` is
// also set for kNewerVersion.
inline SlotState DecodeSuperblock(const uint8_t* slot, Superblock* sb) {
  if (std::memcmp(slot, kSuperblockMagic, sizeof(kSuperblockMagic)) != 0) {
    return SlotState::kDamaged;
  }
  sb->version = static_cast<uint32_t>(GetLe(slot + 8, 4));
  if (sb->version > kFormatVersion) return SlotState::kNewerVersion;
  if (sb->version < 1) return SlotState::kDamaged;
  const size_t crc_offset = sb->version == 1 ? kSuperblockCrcOffsetV1 : kSuperblockCrcOffset;
  if (GetLe(slot + crc_offset, 4) != Crc32c(slot, crc_offset)) return SlotState::kDamaged;
  sb->synced_seq = sb->version == 1 ? 0 : GetLe(slot + 120, 8);
  sb->counter = GetLe(slot + 12, 8);
  sb->file_size = GetLe(slot + 20, 8);
  sb->area_size = GetLe(slot + 28, 8);
  std::memcpy(sb->uuid.data(), slot + 36, kUuidBytes);
  sb->tail.lsn = GetLe(slot + 100, 8);
  sb->tail.seq = GetLe(slot + 108, 8);
  sb->tail.prev_crc = static_cast<uint32_t>(GetLe(slot + 116, 4));
  return SlotState::kValid;
}

struct RecordHeader {
  uint16_t type = kTypeWrite;
  uint32_t salt = 0;
  uint32_t volume = 0;
  uint64_t seq = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t data_crc = 0;
  uint32_t record_bytes = 0;
};

// Fills the kHeaderBytes bytes at `out` and returns the header CRC, chained
// from `prev_crc`.
inline uint32_t EncodeRecordHeader(const RecordHeader& h, uint32_t prev_crc, uint8_t* out) {
  PutLe(out, kRecordMagic, 4);
  PutLe(out + 4, kRecordVersion, 2);
  PutLe(out + 6, h.type, 2);
  PutLe(out + 8, h.salt, 4);
  PutLe(out + 12, h.volume, 4);
  PutLe(out + 16, h.seq, 8);
  PutLe(out + 24, h.offset, 8);
  PutLe(out + 32, h.length, 4);
  PutLe(out + 36, h.data_crc, 4);
  PutLe(out + 40, h.record_bytes, 4);
  std::memset(out + 44, 0, kHeaderCrcOffset - 44);
  uint32_t crc = Crc32cExtend(prev_crc, out, kHeaderCrcOffset);
  PutLe(out + kHeaderCrcOffset, crc, 4);
  return crc;
}

// Decodes the header at `in` if its magic, version and chained CRC (from
// `prev_crc`) are right; the caller checks every other field.
inline bool DecodeRecordHeader(const uint8_t* in, uint32_t prev_crc, RecordHeader* h,
                               uint32_t* header_crc) {
  if (GetLe(in, 4) != kRecordMagic || GetLe(in + 4, 2) != kRecordVersion) return false;
  *header_crc = static_cast<uint32_t>(GetLe(in + kHeaderCrcOffset, 4));
  if (*header_crc != Crc32cExtend(prev_crc, in, kHeaderCrcOffset)) return false;
  h->type = static_cast<uint16_t>(GetLe(in + 6, 2));
  h->salt = static_cast<uint32_t>(GetLe(in + 8, 4));
  h->volume = static_cast<uint32_t>(GetLe(in + 12, 4));
  h->seq = GetLe(in + 16, 8);
  h->offset = GetLe(in + 24, 8);
  h->length = static_cast<uint32_t>(GetLe(in + 32, 4));
  h->data_crc = static_cast<uint32_t>(GetLe(in + 36, 4));
  h->record_bytes = static_cast<uint32_t>(GetLe(in + 40, 4));
  return true;
}

}  // namespace rvg::srl_format
