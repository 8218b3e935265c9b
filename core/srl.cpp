#include "core/srl.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

#include "core/crc32c.h"
#include "core/fail_stop_file.h"
#include "core/srl_format.h"

namespace rvg {

using namespace srl_format;

namespace {

// Source of the zero padding that rounds records up to kAlignment; padding
// is always shorter than one alignment unit.
const uint8_t kZeroPadding[kAlignment] = {};

// One retained WRITE record: enough to read it back in O(1) and to move the
// tail onto it.
struct IndexEntry {
  // at.prev_crc is the header CRC of whatever precedes the record in the
  // chain, a WRITE or a WRAP: the chain seed a checkpoint needs when the
  // tail moves here.
  ChainPosition at;
  uint32_t length;
  uint32_t header_crc;
};

// A stretch of iovecs that lands on contiguous file bytes.
struct WriteRun {
  uint64_t file_offset;
  size_t first_iovec;
  size_t iovec_count;
  uint64_t end_offset;
};

Status CheckUuid(const std::string& uuid, UuidField* field) {
  if (MakeUuidField(uuid, field)) return Status::Ok();
  return Status::Error(
      fmt::format("RVG uuid '{}' is longer than the {} bytes an SRL can hold", uuid, kUuidBytes),
      EINVAL);
}

Status WriteSlot(File& file, int slot, const Superblock& sb) {
  uint8_t bytes[kSlotBytes];
  EncodeSuperblock(sb, bytes);
  return file.WriteAt(slot * kSlotBytes, bytes, sizeof(bytes));
}

Status WriteZeros(File& file, uint64_t size) {
  const std::vector<uint8_t> zeros(std::min<uint64_t>(size, 1ull << 20), 0);
  for (uint64_t offset = 0; offset < size; offset += zeros.size()) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), size - offset));
    iovec iov{const_cast<uint8_t*>(zeros.data()), n};
    Status st = file.WriteAt(offset, &iov, 1);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Status InitializeFile(File& file, uint64_t size, Superblock sb) {
  const std::string& path = file.path();
  Status alloc = file.Allocate(size);
  if (alloc.code() == ENOSPC) {
    return Status::Error(fmt::format("the disk is full: cannot preallocate the SRL {} of {} bytes "
                                     "({} MiB); free space or choose a smaller SRL",
                                     path, size, size >> 20),
                         ENOSPC);
  }
  if (!alloc.ok()) return alloc.Annotate("preallocating the SRL");
  // Written zeros, not just the preallocation: fallocate leaves unwritten
  // extents, and the first write to each one changes the extent tree, so
  // every fdatasync of the SRL's first lap would also commit the
  // filesystem's journal. Writing the file once here makes every later
  // append an overwrite that an fdatasync flushes with no metadata.
  Status zeroed = WriteZeros(file, size);
  if (!zeroed.ok()) return zeroed.Annotate("zero-filling the SRL " + path);
  sb.file_size = size;
  sb.area_size = AreaSizeFor(size);
  // Two valid slots from the start; slot 0 wins, so the first checkpoint
  // goes to slot 1.
  sb.counter = 1;
  Status st = WriteSlot(file, 0, sb);
  sb.counter = 0;
  if (st.ok()) st = WriteSlot(file, 1, sb);
  if (!st.ok()) return st.Annotate("writing the superblocks of SRL " + path);
  return file.Sync();
}

}  // namespace

struct Srl::Impl {
  std::string path;
  std::unique_ptr<File> file;
  UuidField uuid{};
  uint64_t file_size = 0;
  uint64_t area_size = 0;

  // Which slot holds the newest checkpoint. Only AdvanceTail() writes
  // checkpoints; checkpoint_mu keeps two of them from interleaving.
  std::mutex checkpoint_mu;
  int winner_slot = 0;
  uint64_t slot_counter = 0;
  uint64_t checkpoint_synced_seq = 0;  // synced_seq of the newest checkpoint

  // Guards the bookkeeping below. `head` is where the next record goes.
  // Invariants: `index` holds exactly the WRITE records tail.seq ..
  // head.seq - 1, in order; tail.lsn <= head.lsn <= tail.lsn + area_size.
  mutable std::mutex mu;
  ChainPosition tail;
  ChainPosition head;
  std::deque<IndexEntry> index;
  bool recovered = false;
  // The first failed write or fdatasync, sticky (the file is a FailStopFile
  // too: the writer and the checkpointer both sync it). Every later
  // Append(), Sync() and AdvanceTail() returns it.
  Status io_failure;

  Status IoFailure() const {
    std::lock_guard<std::mutex> lock(mu);
    return io_failure;
  }
  Status Remember(Status st) {
    if (st.ok()) return st;
    std::lock_guard<std::mutex> lock(mu);
    if (io_failure.ok()) io_failure = st;
    return st;
  }

  // Append() scratch, reused so the hot path does not allocate; touched
  // only by the single writer thread.
  std::vector<uint8_t> headers;
  std::vector<iovec> iovecs;
  std::vector<WriteRun> runs;
  std::vector<IndexEntry> appended;

  uint64_t FileOffset(uint64_t lsn) const { return kDataStart + lsn % area_size; }
  uint64_t BytesToLapEnd(uint64_t lsn) const { return area_size - lsn % area_size; }
  uint32_t SaltAt(uint64_t lsn) const { return LapSalt(uuid, lsn / area_size); }

  Status NotRecovered() const {
    return Status::Error("internal: SRL " + path + " used before Recover()", EINVAL);
  }
  Status GoneError(uint64_t seq) const {
    return Status::Error(fmt::format("record {} is no longer in the SRL {}", seq, path), ENOENT);
  }

  Status CheckAppendable(const WriteRecord& r, uint64_t expected_seq) const;
  void AddSegment(uint64_t lsn, const void* bytes, size_t n);
  uint8_t* HeaderSlot(size_t i) { return headers.data() + i * kHeaderBytes; }
  const char* HeaderProblem(const uint8_t* raw, const ChainPosition& at, RecordHeader* h,
                            uint32_t* header_crc) const;
  Status WriteCheckpoint(const ChainPosition& new_tail, uint64_t synced_seq);
};

Status Srl::Impl::CheckAppendable(const WriteRecord& r, uint64_t expected_seq) const {
  if (r.seq != expected_seq) {
    return Status::Error(fmt::format("internal: record seq {} appended to SRL {} where seq {} "
                                     "comes next", r.seq, path, expected_seq),
                         EINVAL);
  }
  if (!r.data || r.data->size() != r.length) {
    return Status::Error(fmt::format("internal: record {} has no data of its length", r.seq),
                         EINVAL);
  }
  if (r.length > kMaxWriteBytes || RecordBytesFor(r.length) > area_size) {
    return Status::Error(fmt::format("record {} of {} bytes cannot fit in SRL {} (data area {} "
                                     "bytes, write limit {} bytes)",
                                     r.seq, r.length, path, area_size, kMaxWriteBytes),
                         EINVAL);
  }
  return Status::Ok();
}

// Queues `n` bytes for the file bytes at `lsn`, extending the current run
// when they are contiguous with it. Never called with a range that crosses
// the end of the area.
void Srl::Impl::AddSegment(uint64_t lsn, const void* bytes, size_t n) {
  if (n == 0) return;
  uint64_t offset = FileOffset(lsn);
  if (runs.empty() || runs.back().end_offset != offset) {
    runs.push_back(WriteRun{offset, iovecs.size(), 0, offset});
  }
  iovecs.push_back(iovec{const_cast<void*>(bytes), n});
  runs.back().iovec_count++;
  runs.back().end_offset += n;
}

// Why the raw header read at `at.lsn` is not record `at.seq` chained from
// `at.prev_crc`, or nullptr when it is (a WRITE, or the WRAP before it).
const char* Srl::Impl::HeaderProblem(const uint8_t* raw, const ChainPosition& at,
                                     RecordHeader* h, uint32_t* header_crc) const {
  if (!DecodeRecordHeader(raw, at.prev_crc, h, header_crc)) {
    return "wrong magic, version or chained header CRC";
  }
  if (h->salt != SaltAt(at.lsn)) return "salt of another lap";
  if (h->seq != at.seq) return "unexpected seq";
  uint64_t to_lap_end = BytesToLapEnd(at.lsn);
  if (h->type == kTypeWrap) {
    return h->length == 0 && h->record_bytes == to_lap_end ? nullptr : "inconsistent WRAP";
  }
  if (h->type != kTypeWrite) return "unknown record type";
  if (h->length > kMaxWriteBytes || h->record_bytes != RecordBytesFor(h->length) ||
      h->record_bytes > to_lap_end) {
    return "inconsistent record length";
  }
  return nullptr;
}

Status Srl::Impl::WriteCheckpoint(const ChainPosition& new_tail, uint64_t synced_seq) {
  Superblock sb{.counter = slot_counter + 1, .file_size = file_size, .area_size = area_size,
                .uuid = uuid, .tail = new_tail, .synced_seq = synced_seq};
  int slot = 1 - winner_slot;
  Status st = WriteSlot(*file, slot, sb);
  if (st.ok()) st = file->Sync();
  if (!st.ok()) return st.Annotate("writing the checkpoint of SRL " + path);
  winner_slot = slot;
  slot_counter = sb.counter;
  checkpoint_synced_seq = synced_seq;
  return Status::Ok();
}

Srl::Srl(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Srl::~Srl() = default;

Status Srl::Lock() { return impl_->file->Lock().Annotate("locking SRL"); }

uint64_t Srl::RecordBytes(uint32_t data_length) { return RecordBytesFor(data_length); }

Status Srl::Create(const std::string& path, uint64_t size, const std::string& rvg_uuid,
                   FileEnv* env) {
  if (size < kMinSize) {
    return Status::Error(
        fmt::format("SRL size {} bytes is below the minimum of {} bytes (4 MiB)", size, kMinSize),
        EINVAL);
  }
  Superblock sb;
  Status st = CheckUuid(rvg_uuid, &sb.uuid);
  if (!st.ok()) return st;

  bool created = true;
  Result<std::unique_ptr<File>> file = env->Create(path);
  if (!file.ok() && file.status().code() == EEXIST) {
    created = false;
    file = env->Open(path);
  }
  if (!file.ok()) return file.status().Annotate("creating SRL");
  st = (*file)->Lock();
  if (!st.ok()) return st.Annotate("creating SRL");
  if (!created) {
    Result<uint64_t> existing = (*file)->Size();
    if (!existing.ok()) return existing.status().Annotate("examining SRL");
    if (*existing > 0) {
      return Status::Error(fmt::format("SRL {} already exists and is not empty; refusing to "
                                       "overwrite it (remove it first if it is no longer needed)",
                                       path),
                           EEXIST);
    }
  }
  st = InitializeFile(**file, size, sb);
  // The directory entry last: the file it names is complete and synced.
  if (st.ok()) st = env->SyncDirOf(path).Annotate("creating SRL " + path);
  file->reset();
  if (!st.ok() && created) (void)env->Remove(path);
  return st;
}

Result<std::unique_ptr<Srl>> Srl::Open(const std::string& path, const std::string& rvg_uuid,
                                       FileEnv* env) {
  auto s = std::make_unique<Impl>();
  s->path = path;
  Status st = CheckUuid(rvg_uuid, &s->uuid);
  if (!st.ok()) return st;
  Result<std::unique_ptr<File>> file = FailStopFile::Wrap(env->Open(path));
  if (!file.ok()) return file.status().Annotate("opening SRL");
  s->file = std::move(*file);
  Result<uint64_t> size = s->file->Size();
  if (!size.ok()) return size.status().Annotate("examining SRL");
  const Status damaged = Status::Error(
      fmt::format("SRL {} is damaged: no valid superblock (restore it or create a new SRL)", path));
  const uint64_t file_size = *size;
  if (file_size < kDataStart) return damaged;

  uint8_t slots[2 * kSlotBytes];
  st = s->file->ReadAt(0, slots, sizeof(slots));
  if (!st.ok()) return st.Annotate("reading the superblocks of SRL " + path);
  Superblock best;
  int winner = -1;
  for (int i = 0; i < 2; ++i) {
    Superblock sb;
    SlotState state = DecodeSuperblock(slots + i * kSlotBytes, &sb);
    if (state == SlotState::kNewerVersion) {
      return Status::Error(fmt::format("SRL {} was written by a newer rvg (format version {}, this "
                                       "rvg reads version {}); upgrade rvg",
                                       path, sb.version, kFormatVersion),
                           ENOTSUP);
    }
    if (state == SlotState::kValid && (winner < 0 || sb.counter > best.counter)) {
      best = sb;
      winner = i;
    }
  }
  if (winner < 0) return damaged;
  if (best.uuid != s->uuid) {
    return Status::Error(
        fmt::format("SRL {} belongs to another RVG (uuid {})", path, UuidFieldText(best.uuid)),
        EINVAL);
  }
  if (best.file_size != file_size) {
    return Status::Error(fmt::format("SRL {} is {} bytes but its superblock says {}: it was "
                                     "truncated or resized; restore it or create a new SRL",
                                     path, file_size, best.file_size));
  }
  if (best.file_size < kMinSize || best.area_size != AreaSizeFor(best.file_size) ||
      best.tail.seq == 0) {
    return damaged;
  }
  s->file_size = best.file_size;
  s->area_size = best.area_size;
  s->winner_slot = winner;
  s->slot_counter = best.counter;
  s->checkpoint_synced_seq = best.synced_seq;
  s->tail = best.tail;
  s->head = best.tail;
  return std::unique_ptr<Srl>(new Srl(std::move(s)));
}

Status Srl::Recover(const std::function<Status(const WriteRecord&)>& visit,
                    uint64_t durable_seq) {
  Impl& s = *impl_;
  ChainPosition start;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.recovered) return Status::Error("internal: SRL " + s.path + " recovered twice", EINVAL);
    start = s.tail;
  }
  // What a killed process appended may still be only in the page cache.
  // Everything the scan hands out gets applied to images (which are then
  // synced) or sent to a secondary, so it must be durable first: a record
  // that a power cut could still take away from the log would leave the
  // images holding a write that no history has.
  Status synced = s.Remember(s.file->Sync());
  if (!synced.ok()) return synced.Annotate("syncing SRL " + s.path + " before recovery");
  ChainPosition at = start;
  std::deque<IndexEntry> index;
  const char* end_reason = nullptr;
  for (;;) {
    if (s.BytesToLapEnd(at.lsn) < kHeaderBytes) at.lsn += s.BytesToLapEnd(at.lsn);
    uint8_t raw[kHeaderBytes];
    RecordHeader h;
    uint32_t header_crc = 0;
    if (at.lsn + kHeaderBytes - start.lsn > s.area_size) {
      end_reason = "the log is full";
      break;
    }
    Status st = s.file->ReadAt(s.FileOffset(at.lsn), raw, sizeof(raw));
    if (!st.ok()) return st.Annotate("recovering SRL " + s.path);
    end_reason = s.HeaderProblem(raw, at, &h, &header_crc);
    if (end_reason == nullptr && at.lsn + h.record_bytes - start.lsn > s.area_size) {
      end_reason = "record overlaps the tail";
    }
    if (end_reason != nullptr) break;
    if (h.type == kTypeWrap) {
      at = ChainPosition{at.lsn + h.record_bytes, at.seq, header_crc};
      continue;
    }
    auto data = std::make_shared<DataBuffer>(h.length);
    st = s.file->ReadAt(s.FileOffset(at.lsn + kHeaderBytes), data->data(), h.length);
    if (!st.ok()) return st.Annotate("recovering SRL " + s.path);
    if (Crc32c(data->data(), h.length) != h.data_crc) {
      end_reason = "data CRC mismatch";
      break;
    }
    st = visit(WriteRecord{at.seq, h.volume, h.offset, h.length, h.data_crc, std::move(data)});
    if (!st.ok()) return st;
    index.push_back(IndexEntry{at, h.length, header_crc});
    at = ChainPosition{at.lsn + h.record_bytes, at.seq + 1, header_crc};
  }
  // A record that was durable once cannot be the torn end of the log: it is
  // damage, and appending from here would reuse seqs that a secondary or
  // the images may hold.
  const uint64_t floor = std::max(durable_seq, s.checkpoint_synced_seq);
  if (at.seq <= floor) {
    return Status::Error(fmt::format(
        "SRL {} is damaged: record seq {} at file offset {} is unreadable ({}), but seqs up to {} "
        "were already durable{}; refusing to start rather than lose or reuse them. Keep the file "
        "for analysis; restore the SRL from a backup, or rebuild this host from a secondary",
        s.path, at.seq, s.FileOffset(at.lsn), end_reason, floor,
        floor > s.checkpoint_synced_seq ? " (and possibly replicated)" : ""));
  }
  spdlog::info("SRL {}: recovered seqs {}..{}; the log ends at file offset {}: {}", s.path,
               start.seq, at.seq - 1, s.FileOffset(at.lsn), end_reason);
  std::lock_guard<std::mutex> lock(s.mu);
  s.index = std::move(index);
  s.head = at;
  s.recovered = true;
  return Status::Ok();
}

Result<size_t> Srl::Append(const WriteRecord* records, size_t count) {
  Impl& s = *impl_;
  ChainPosition head;
  uint64_t tail_lsn;  // may only grow meanwhile, which frees space: safe
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.recovered) return s.NotRecovered();
    if (!s.io_failure.ok()) return s.io_failure;
    head = s.head;
    tail_lsn = s.tail.lsn;
  }
  // Each record may be preceded by at most one WRAP.
  if (s.headers.size() < 2 * count * kHeaderBytes) s.headers.resize(2 * count * kHeaderBytes);
  s.iovecs.clear();
  s.runs.clear();
  s.appended.clear();
  size_t headers_used = 0;
  size_t n = 0;
  for (; n < count; ++n) {
    const WriteRecord& r = records[n];
    Status st = s.CheckAppendable(r, head.seq);
    if (!st.ok() && n == 0) return st;
    if (!st.ok()) break;  // append what came before; the next call reports it
    const uint64_t bytes = RecordBytesFor(r.length);
    uint64_t lsn = head.lsn;
    if (s.BytesToLapEnd(lsn) < kHeaderBytes) lsn += s.BytesToLapEnd(lsn);
    const uint64_t wrap_bytes = bytes > s.BytesToLapEnd(lsn) ? s.BytesToLapEnd(lsn) : 0;
    const uint64_t start = lsn + wrap_bytes;
    if (start + bytes - tail_lsn > s.area_size) break;  // full

    uint32_t prev_crc = head.prev_crc;
    if (wrap_bytes > 0) {
      RecordHeader wrap{.type = kTypeWrap, .salt = s.SaltAt(lsn), .seq = r.seq,
                        .record_bytes = static_cast<uint32_t>(wrap_bytes)};
      uint8_t* raw = s.HeaderSlot(headers_used++);
      prev_crc = EncodeRecordHeader(wrap, prev_crc, raw);
      s.AddSegment(lsn, raw, kHeaderBytes);
    }
    RecordHeader h{.type = kTypeWrite, .salt = s.SaltAt(start), .volume = r.volume,
                   .seq = r.seq, .offset = r.offset, .length = r.length,
                   .data_crc = r.data_crc, .record_bytes = static_cast<uint32_t>(bytes)};
    uint8_t* raw = s.HeaderSlot(headers_used++);
    const uint32_t header_crc = EncodeRecordHeader(h, prev_crc, raw);
    s.AddSegment(start, raw, kHeaderBytes);
    s.AddSegment(start + kHeaderBytes, r.data->data(), r.length);
    s.AddSegment(start + kHeaderBytes + r.length, kZeroPadding, bytes - kHeaderBytes - r.length);
    s.appended.push_back(IndexEntry{ChainPosition{start, r.seq, prev_crc}, r.length, header_crc});
    head = ChainPosition{start + bytes, r.seq + 1, header_crc};
  }
  if (n == 0) return size_t{0};

  for (const WriteRun& run : s.runs) {
    Status st = s.file->WriteAt(run.file_offset, &s.iovecs[run.first_iovec], run.iovec_count);
    if (!st.ok()) return s.Remember(st.Annotate("writing to SRL " + s.path));
  }
  std::lock_guard<std::mutex> lock(s.mu);
  s.index.insert(s.index.end(), s.appended.begin(), s.appended.end());
  s.head = head;
  return n;
}

Status Srl::Sync() {
  Impl& s = *impl_;
  Status failed = s.IoFailure();
  if (!failed.ok()) return failed;
  return s.Remember(s.file->Sync());
}

Result<WriteRecord> Srl::Read(uint64_t seq) const {
  const Impl& s = *impl_;
  IndexEntry e;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.recovered) return s.NotRecovered();
    if (seq < s.tail.seq) return s.GoneError(seq);
    if (seq >= s.head.seq) {
      return Status::Error(fmt::format("internal: record {} is not in SRL {} yet (next seq {})",
                                       seq, s.path, s.head.seq),
                           EINVAL);
    }
    e = s.index[seq - s.tail.seq];
  }
  uint8_t raw[kHeaderBytes];
  auto data = std::make_shared<DataBuffer>(e.length);
  iovec iov[2] = {{raw, kHeaderBytes}, {data->data(), e.length}};
  Status st = s.file->ReadAt(s.FileOffset(e.at.lsn), iov, 2);
  if (!st.ok()) return st.Annotate(fmt::format("reading record {} from SRL {}", seq, s.path));

  RecordHeader h;
  uint32_t header_crc = 0;
  bool valid = s.HeaderProblem(raw, e.at, &h, &header_crc) == nullptr &&
               h.type == kTypeWrite && header_crc == e.header_crc && h.length == e.length &&
               Crc32c(data->data(), e.length) == h.data_crc;
  if (!valid) {
    // The space may have been reused after the tail moved past `seq`
    // while we read; that is not damage.
    std::lock_guard<std::mutex> lock(s.mu);
    if (seq < s.tail.seq) return s.GoneError(seq);
    return Status::Error(fmt::format("record {} in SRL {} fails its checksums: the SRL is damaged",
                                     seq, s.path));
  }
  return WriteRecord{seq, h.volume, h.offset, h.length, h.data_crc, std::move(data)};
}

Status Srl::AdvanceTail(uint64_t new_tail_seq, uint64_t synced_seq) {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> checkpoint_lock(s.checkpoint_mu);
  ChainPosition target;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.recovered) return s.NotRecovered();
    if (!s.io_failure.ok()) return s.io_failure;
    if (new_tail_seq < s.tail.seq || new_tail_seq > s.head.seq) {
      return Status::Error(fmt::format("internal: cannot move the tail of SRL {} to seq {} (it "
                                       "holds seqs {}..{})",
                                       s.path, new_tail_seq, s.tail.seq, s.head.seq - 1),
                           EINVAL);
    }
    if (synced_seq >= s.head.seq) {
      return Status::Error(fmt::format("internal: SRL {} cannot have synced seq {} (next seq {})",
                                       s.path, synced_seq, s.head.seq),
                           EINVAL);
    }
    synced_seq = std::max(synced_seq, s.checkpoint_synced_seq);
    if (new_tail_seq == s.tail.seq && synced_seq == s.checkpoint_synced_seq) return Status::Ok();
    target = new_tail_seq == s.head.seq ? s.head : s.index[new_tail_seq - s.tail.seq].at;
  }
  // Durable first: only then may Append() overwrite the released space.
  Status st = s.Remember(s.WriteCheckpoint(target, synced_seq));
  if (!st.ok()) return st;
  std::lock_guard<std::mutex> lock(s.mu);
  while (!s.index.empty() && s.index.front().at.seq < new_tail_seq) s.index.pop_front();
  s.tail = target;
  return Status::Ok();
}

Status Srl::Rebase(uint64_t next_seq, bool back) {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> checkpoint_lock(s.checkpoint_mu);
  ChainPosition target;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.recovered) return s.NotRecovered();
    if (!s.io_failure.ok()) return s.io_failure;
    if (s.tail.seq != s.head.seq) {
      return Status::Error(fmt::format("internal: cannot rebase SRL {} to seq {}: it still holds "
                                       "seqs {}..{}",
                                       s.path, next_seq, s.tail.seq, s.head.seq - 1),
                           EINVAL);
    }
    if (next_seq < s.head.seq && (!back || next_seq == 0)) {
      return Status::Error(fmt::format("internal: cannot rebase SRL {} back to seq {} (next "
                                       "seq {})", s.path, next_seq, s.head.seq), EINVAL);
    }
    // The head, not the tail: after a recovery that ended behind a WRAP
    // record the head is past it (same seq, the WRAP's CRC as seed), and
    // the tail may move there as AdvanceTail(next_seq()) would move it.
    target = s.head;
    target.seq = next_seq;
  }
  // Durable first, as for a tail move: behind the old checkpoint, which
  // expects the old seq there, a record appended at the new seq would not
  // be recovered.
  const uint64_t synced = std::min(s.checkpoint_synced_seq, next_seq - 1);
  Status st = s.Remember(s.WriteCheckpoint(target, synced));
  if (!st.ok()) return st;
  std::lock_guard<std::mutex> lock(s.mu);
  s.tail = target;
  s.head = target;
  s.checkpoint_synced_seq = synced;
  return Status::Ok();
}

uint64_t Srl::tail_seq() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->tail.seq;
}

uint64_t Srl::next_seq() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->head.seq;
}

uint64_t Srl::used_bytes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->head.lsn - impl_->tail.lsn;
}

uint64_t Srl::capacity_bytes() const { return impl_->area_size; }

const std::string& Srl::path() const { return impl_->path; }

}  // namespace rvg
