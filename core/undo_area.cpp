#include "core/undo_area.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "core/crc32c.h"
#include "core/srl_format.h"

namespace rvg {

namespace {

using srl_format::GetLe;
using srl_format::PutLe;

constexpr uint64_t kSlotBytes = 512;
constexpr uint64_t kRecordsStart = 2 * kSlotBytes;
constexpr char kMagic[8] = {'R', 'V', 'G', 'U', 'N', 'D', 'O', '\0'};
constexpr uint32_t kVersion = 1;
constexpr size_t kSlotCrcOffset = 116;
constexpr uint32_t kRecordMagic = 0x4f444e55;  // "UNDO"
constexpr size_t kRecordHeaderBytes = 40;
constexpr size_t kRecordCrcOffset = 36;

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

}  // namespace

UndoArea::UndoArea(std::string path, std::string owner, FileEnv* env)
    : path_(std::move(path)), owner_(std::move(owner)), env_(env) {}

UndoArea::~UndoArea() = default;

std::optional<UndoSummary> UndoArea::summary() const {
  std::lock_guard<std::mutex> lock(summary_mu_);
  return summary_;
}

void UndoArea::Publish() {
  std::lock_guard<std::mutex> lock(summary_mu_);
  if (file_ == nullptr) {
    summary_.reset();
  } else {
    summary_ = UndoSummary{header_.records, header_.bytes, header_.base_seq};
  }
}

Status UndoArea::Fail(const Status& st) {
  if (failure_.ok()) failure_ = st;
  return st;
}

Status UndoArea::Damaged(const std::string& what) const {
  return Status::Error(fmt::format("undo area {} is damaged: {}; it cannot restore the images as "
                                   "they were before the resync. Let a resync finish (it makes "
                                   "them consistent again) or restore them from a backup; to go "
                                   "on without a way back, remove {}",
                                   path_, what, path_),
                       EBADMSG);
}

// ---- header ---------------------------------------------------------------

Result<std::optional<UndoArea::Header>> UndoArea::ReadHeader(File* file) const {
  Result<uint64_t> size = file->Size();
  if (!size.ok()) return size.status();
  uint8_t slots[kRecordsStart] = {};
  // A file cut short while it was created reads as zeros: no valid slot.
  Status st = file->ReadAt(0, slots, std::min<uint64_t>(*size, kRecordsStart));
  if (!st.ok()) return st.Annotate("reading undo area " + path_);
  srl_format::UuidField owner{};
  if (!srl_format::MakeUuidField(owner_, &owner)) {
    return Status::Error("internal: undo area owner too long", EINVAL);
  }
  std::optional<Header> best;
  for (uint64_t slot = 0; slot < 2; ++slot) {
    const uint8_t* p = slots + slot * kSlotBytes;
    if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) continue;
    if (GetLe(p + 8, 4) != kVersion) {
      return Status::Error(fmt::format("undo area {} has format version {}, which this rvg does "
                                       "not know; use the rvg that wrote it",
                                       path_, GetLe(p + 8, 4)),
                           EPROTO);
    }
    if (GetLe(p + kSlotCrcOffset, 4) != Crc32c(p, kSlotCrcOffset)) continue;
    if (std::memcmp(p + 52, owner.data(), owner.size()) != 0) continue;
    Header h{GetLe(p + 12, 8), GetLe(p + 20, 8), GetLe(p + 28, 8), GetLe(p + 36, 8),
             GetLe(p + 44, 8), slot};
    if (h.end < kRecordsStart) continue;
    if (!best || h.counter > best->counter) best = h;
  }
  return best;
}

Status UndoArea::WriteHeader(const Header& header) {
  uint8_t slot[kSlotBytes] = {};
  std::memcpy(slot, kMagic, sizeof(kMagic));
  PutLe(slot + 8, kVersion, 4);
  PutLe(slot + 12, header.counter, 8);
  PutLe(slot + 20, header.base_seq, 8);
  PutLe(slot + 28, header.end, 8);
  PutLe(slot + 36, header.records, 8);
  PutLe(slot + 44, header.bytes, 8);
  srl_format::UuidField owner{};
  srl_format::MakeUuidField(owner_, &owner);
  std::memcpy(slot + 52, owner.data(), owner.size());
  PutLe(slot + kSlotCrcOffset, Crc32c(slot, kSlotCrcOffset), 4);
  // The slot that is not current: a torn write leaves the current one.
  const uint64_t target = header.counter == 1 ? 0 : 1 - header_.slot;
  Status st = file_->WriteAt(target * kSlotBytes, slot, sizeof(slot));
  if (st.ok()) st = file_->Sync();
  if (!st.ok()) return st.Annotate("committing undo area " + path_);
  header_ = header;
  header_.slot = target;
  return Status::Ok();
}

// ---- records --------------------------------------------------------------

Result<UndoArea::RecordHead> UndoArea::ReadRecord(uint64_t pos, uint64_t index, uint64_t end,
                                                  std::vector<uint8_t>* data) const {
  const std::string where = fmt::format("record {} (file offset {})", index, pos);
  if (pos + kRecordHeaderBytes > end) return Damaged(where + " runs past the committed end");
  uint8_t h[kRecordHeaderBytes];
  Status st = file_->ReadAt(pos, h, sizeof(h));
  if (!st.ok()) return st.Annotate(fmt::format("reading undo area {}, {}", path_, where));
  if (GetLe(h, 4) != kRecordMagic || GetLe(h + kRecordCrcOffset, 4) != Crc32c(h, kRecordCrcOffset) ||
      GetLe(h + 24, 8) != index) {
    return Damaged(where + " has a bad header (magic, index or checksum)");
  }
  RecordHead r{static_cast<uint32_t>(GetLe(h + 4, 4)), GetLe(h + 8, 8),
               static_cast<uint32_t>(GetLe(h + 16, 4)), static_cast<uint32_t>(GetLe(h + 20, 4))};
  if (r.length == 0 || r.length > kMaxWriteBytes || pos + kRecordHeaderBytes + r.length > end) {
    return Damaged(where + " has a bad length");
  }
  if (data != nullptr) {
    data->resize(r.length);
    st = file_->ReadAt(pos + kRecordHeaderBytes, data->data(), r.length);
    if (!st.ok()) return st.Annotate(fmt::format("reading undo area {}, {}", path_, where));
    if (Crc32c(data->data(), r.length) != r.data_crc) {
      return Damaged(fmt::format("{} (volume {}, offset {}, {} bytes) fails its data checksum",
                                 where, r.volume, r.offset, r.length));
    }
  }
  return r;
}

Status UndoArea::ForEachRecord(
    bool with_data, const std::function<Status(const RecordHead&, const uint8_t*)>& visit) const {
  std::vector<uint8_t> data;
  uint64_t pos = kRecordsStart;
  for (uint64_t index = 0; index < header_.records; ++index) {
    Result<RecordHead> r = ReadRecord(pos, index, header_.end, with_data ? &data : nullptr);
    if (!r.ok()) return r.status();
    Status st = visit(*r, with_data ? data.data() : nullptr);
    if (!st.ok()) return st;
    pos += kRecordHeaderBytes + r->length;
  }
  if (pos != header_.end) {
    return Damaged(fmt::format("its {} records end at offset {}, not at the committed end {}",
                               header_.records, pos, header_.end));
  }
  return Status::Ok();
}

std::vector<std::pair<uint64_t, uint64_t>> UndoArea::Claim(uint32_t volume, uint64_t offset,
                                                            uint64_t length) {
  Extents& set = saved_[volume];
  std::vector<std::pair<uint64_t, uint64_t>> gaps;
  uint64_t start = offset;
  uint64_t end = offset + length;
  // The first extent that could touch [start, end) starts at or before it.
  auto it = set.upper_bound(start);
  if (it != set.begin() && std::prev(it)->second >= start) --it;
  uint64_t cursor = start;
  while (it != set.end() && it->first <= end) {
    if (it->first > cursor) gaps.emplace_back(cursor, it->first - cursor);
    cursor = std::max(cursor, it->second);
    // Merge every touching extent into [start, end).
    start = std::min(start, it->first);
    end = std::max(end, it->second);
    it = set.erase(it);
  }
  if (cursor < offset + length) gaps.emplace_back(cursor, offset + length - cursor);
  set.emplace(start, end);
  return gaps;
}

Status UndoArea::AppendRecord(uint32_t volume, uint64_t offset, uint64_t length,
                              const VolumeSet& volumes, Header* pending,
                              std::vector<uint8_t>* buffer) {
  buffer->resize(kRecordHeaderBytes + length);
  uint8_t* h = buffer->data();
  uint8_t* data = h + kRecordHeaderBytes;
  Status st = volumes.Read(volume, offset, data, length);
  if (!st.ok()) return st.Annotate("reading what a resync region will overwrite");
  std::memset(h, 0, kRecordHeaderBytes);
  PutLe(h, kRecordMagic, 4);
  PutLe(h + 4, volume, 4);
  PutLe(h + 8, offset, 8);
  PutLe(h + 16, length, 4);
  PutLe(h + 20, Crc32c(data, length), 4);
  PutLe(h + 24, pending->records, 8);
  PutLe(h + kRecordCrcOffset, Crc32c(h, kRecordCrcOffset), 4);
  st = file_->WriteAt(pending->end, buffer->data(), buffer->size());
  if (!st.ok()) return st;
  pending->end += buffer->size();
  pending->records += 1;
  pending->bytes += length;
  return Status::Ok();
}

// ---- lifetime -------------------------------------------------------------

Result<std::optional<UndoSummary>> UndoArea::Peek(const std::string& path,
                                                  const std::string& owner, FileEnv* env) {
  Result<FileInfo> info = env->Stat(path);
  if (!info.ok()) return info.status();
  if (!info->exists) return std::optional<UndoSummary>();
  Result<std::unique_ptr<File>> file = env->Open(path);
  if (!file.ok()) return file.status();
  UndoArea area(path, owner, env);
  Result<std::optional<Header>> header = area.ReadHeader(file->get());
  if (!header.ok()) return header.status();
  if (!*header) return std::optional<UndoSummary>();
  const Header& h = **header;
  return std::optional<UndoSummary>(UndoSummary{h.records, h.bytes, h.base_seq});
}

Status UndoArea::Recover(uint64_t applied_seq, bool* consistent,
                         const std::function<Status()>& save_consistent) {
  Result<FileInfo> info = env_->Stat(path_);
  if (!info.ok()) return info.status().Annotate("looking for the undo area");
  if (!info->exists) return Status::Ok();
  Result<std::unique_ptr<File>> file = env_->Open(path_);
  if (!file.ok()) return file.status().Annotate("opening undo area " + path_);
  Status st = (*file)->Lock();
  if (!st.ok()) return st.Annotate("undo area " + path_);
  Result<std::optional<Header>> header = ReadHeader(file->get());
  if (!header.ok()) return header.status();
  file_ = std::move(*file);
  auto leftover = [&](const std::string& why) {
    spdlog::info("removing undo area {}: {}", path_, why);
    return Discard();
  };
  if (*consistent) {
    return leftover("the images are consistent (a resync or a rollback finished before the "
                    "file was removed)");
  }
  if (!*header) {
    // Begin makes its header durable before the inconsistent flag is set.
    file_.reset();
    return Damaged("no valid header (or one written by another RVG)");
  }
  header_ = **header;
  if (applied_seq != header_.base_seq) {
    // FinishResync moves the SRL (and applied_seq) to the resync's end only
    // once every region is on the synced images: the resync ended — past
    // the area's seq, or below it when a fast failback took this host back
    // to the new primary's line (a lost SRL is caught before this, by the
    // recovery's floor).
    st = save_consistent();
    if (!st.ok()) return st.Annotate("finishing an ended resync");
    *consistent = true;
    return leftover(fmt::format("the resync ended at seq {} ({} the undo area's seq {})",
                                applied_seq, applied_seq > header_.base_seq ? "above" : "below",
                                header_.base_seq));
  }
  st = ForEachRecord(false, [this](const RecordHead& r, const uint8_t*) {
    Claim(r.volume, r.offset, r.length);
    return Status::Ok();
  });
  if (!st.ok()) {
    file_.reset();
    saved_.clear();
    return st;
  }
  Publish();
  spdlog::info("undo area {}: {} regions ({} bytes) restore the images to seq {}", path_,
               header_.records, header_.bytes, header_.base_seq);
  return Status::Ok();
}

Status UndoArea::Begin(uint64_t base_seq) {
  if (!failure_.ok()) return failure_;
  if (active() || base_seq == 0) return Status::Ok();
  Result<std::unique_ptr<File>> file = env_->Create(path_);
  if (!file.ok()) {
    return Fail(file.status().Annotate("creating undo area " + path_));
  }
  file_ = std::move(*file);
  Status st = file_->Lock();
  uint8_t zeros[kSlotBytes] = {};
  // Slot B zero, so the file holds both slots from the start.
  if (st.ok()) st = file_->WriteAt(kSlotBytes, zeros, sizeof(zeros));
  if (!st.ok()) return Fail(st.Annotate("creating undo area " + path_));
  st = WriteHeader(Header{1, base_seq, kRecordsStart, 0, 0});
  if (st.ok()) st = env_->SyncDirOf(path_);
  if (!st.ok()) return Fail(st.Annotate("creating undo area " + path_));
  saved_.clear();
  Publish();
  spdlog::info("undo area {}: keeping the images' contents at seq {} for a rollback", path_,
               base_seq);
  return Status::Ok();
}

Status UndoArea::Save(const WriteRecord* regions, size_t count, const VolumeSet& volumes) {
  if (!failure_.ok()) return failure_;
  if (!active()) return Status::Ok();
  Header pending = header_;
  std::vector<uint8_t> buffer;
  Status st;
  for (size_t i = 0; i < count && st.ok(); ++i) {
    for (const auto& [offset, length] : Claim(regions[i].volume, regions[i].offset,
                                              regions[i].length)) {
      st = AppendRecord(regions[i].volume, offset, length, volumes, &pending, &buffer);
      if (!st.ok()) break;
    }
  }
  if (pending.records == header_.records && st.ok()) return Status::Ok();  // all saved before
  // The records first, then the header that commits them: a commit never
  // covers bytes that are not durable.
  if (st.ok()) st = file_->Sync();
  if (st.ok()) {
    pending.counter = header_.counter + 1;
    st = WriteHeader(pending);
  }
  if (!st.ok()) {
    return Fail(Status::Error(
        fmt::format("saving the previous contents of resync regions in undo area {}: {}; no "
                    "region was written, the images are as before. The undo area needs room for "
                    "what the resync overwrites: free space in {}, then restart rvgd",
                    path_, st.message(), DirOf(path_)),
        st.code()));
  }
  Publish();
  return Status::Ok();
}

Status UndoArea::Discard() {
  if (!failure_.ok()) return failure_;
  if (!active()) return Status::Ok();
  file_.reset();
  saved_.clear();
  Publish();
  Status st = env_->Remove(path_);
  if (st.ok()) st = env_->SyncDirOf(path_);
  if (!st.ok()) return Fail(st.Annotate("removing undo area " + path_));
  return Status::Ok();
}

Result<UndoSummary> UndoArea::RollBack(VolumeSet* volumes,
                                       const std::function<Status()>& save_consistent) {
  if (!failure_.ok()) return failure_;
  if (!active()) return Status::Error("there is no undo area (" + path_ + ")", ENOENT);
  const UndoSummary done{header_.records, header_.bytes, header_.base_seq};
  // Every record is checked before the first is written back: a damaged
  // area restores nothing.
  Status st = ForEachRecord(true, [volumes](const RecordHead& r, const uint8_t*) {
    return volumes->CheckRange(r.volume, r.offset, r.length);
  });
  if (st.ok()) {
    st = ForEachRecord(true, [volumes](const RecordHead& r, const uint8_t* data) {
      return volumes->Write(r.volume, r.offset, data, r.length);
    });
  }
  if (st.ok()) st = volumes->SyncAll();
  if (!st.ok()) return st.Annotate("rolling back from undo area " + path_);
  // The flag before the file: a crash between them leaves a consistent
  // secondary with a leftover file, which Recover() removes.
  st = save_consistent();
  if (!st.ok()) return st.Annotate("rolled back, but saving the consistent flag");
  st = Discard();
  if (!st.ok()) return st;
  spdlog::info("rolled back {} regions ({} bytes) from undo area {}: the images are the "
               "consistent copy at seq {}",
               done.regions, done.bytes, path_, done.base_seq);
  return done;
}

}  // namespace rvg
