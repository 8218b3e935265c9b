#include "fault_env.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>

namespace rvg::testing {

namespace {

constexpr uint64_t kPageBytes = 4096;
constexpr uint64_t kSectorBytes = 512;  // the unit a power cut never tears

// The contents of one file: 4 KiB pages, a missing page reads as zeros.
// Copies share pages and clone one on its first write (copy-on-write), so
// snapshotting a file (durable -> visible after a cut) costs a pointer per
// page. Invariant: bytes past size() inside the last page are zero, so a
// file that grows again reads zeros there.
class PageFile {
 public:
  uint64_t size() const { return size_; }

  void Read(uint64_t offset, uint8_t* out, uint64_t n) const {
    while (n > 0) {
      const uint64_t index = offset / kPageBytes;
      const uint64_t in_page = offset % kPageBytes;
      const uint64_t step = std::min(n, kPageBytes - in_page);
      if (index < pages_.size() && pages_[index]) {
        std::memcpy(out, pages_[index]->data() + in_page, step);
      } else {
        std::memset(out, 0, step);
      }
      offset += step;
      out += step;
      n -= step;
    }
  }

  void Write(uint64_t offset, const uint8_t* in, uint64_t n) {
    if (offset + n > size_) Resize(offset + n);
    while (n > 0) {
      const uint64_t in_page = offset % kPageBytes;
      const uint64_t step = std::min(n, kPageBytes - in_page);
      std::memcpy(MutablePage(offset / kPageBytes) + in_page, in, step);
      offset += step;
      in += step;
      n -= step;
    }
  }

  void Resize(uint64_t size) {
    if (size < size_ && size % kPageBytes != 0) {
      const uint64_t index = size / kPageBytes;
      if (index < pages_.size() && pages_[index]) {
        const uint64_t keep = size % kPageBytes;
        std::memset(MutablePage(index) + keep, 0, kPageBytes - keep);
      }
    }
    pages_.resize((size + kPageBytes - 1) / kPageBytes);
    size_ = size;
  }

  void CopyFrom(const PageFile& src, uint64_t offset, uint64_t n) {
    uint8_t buf[kSectorBytes];
    while (n > 0) {
      const uint64_t step = std::min<uint64_t>(n, sizeof(buf));
      src.Read(offset, buf, step);
      Write(offset, buf, step);
      offset += step;
      n -= step;
    }
  }

 private:
  using Page = std::array<uint8_t, kPageBytes>;

  uint8_t* MutablePage(uint64_t index) {
    std::shared_ptr<Page>& page = pages_[index];
    if (!page) {
      page = std::make_shared<Page>();  // value-initialized: zeros
    } else if (page.use_count() > 1) {
      page = std::make_shared<Page>(*page);
    }
    return page->data();
  }

  std::vector<std::shared_ptr<Page>> pages_;
  uint64_t size_ = 0;
};

enum class OpKind { kWrite, kSetSize, kAllocate };

// An operation done since the file's last good Sync().
struct PendingOp {
  OpKind kind;
  uint64_t offset;            // kWrite
  uint64_t size;              // kSetSize, kAllocate
  std::vector<uint8_t> data;  // kWrite
};

void ApplyOp(const PendingOp& op, PageFile* file) {
  switch (op.kind) {
    case OpKind::kWrite:
      file->Write(op.offset, op.data.data(), op.data.size());
      break;
    case OpKind::kSetSize:
      file->Resize(op.size);
      break;
    case OpKind::kAllocate:
      file->Resize(std::max(file->size(), op.size));
      break;
  }
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

struct FaultEnv::Inode {
  PageFile visible;
  PageFile durable;
  std::vector<PendingOp> pending;  // in order; visible == durable + pending
  // The open File holding Lock(), and the power epoch it took it in.
  const File* lock_holder = nullptr;
  uint64_t lock_epoch = 0;

  // What a power cut leaves of this file (see the header comment): `cache`
  // replays the page cache op by op, and each sector a write touched is
  // copied from it to the result with probability p, carrying the state of
  // the page cache as of that write.
  void Cut(std::mt19937_64& rng, std::bernoulli_distribution& keep) {
    PageFile result = durable;
    PageFile cache = durable;
    for (const PendingOp& op : pending) {
      ApplyOp(op, &cache);
      if (op.kind != OpKind::kWrite) {
        if (keep(rng)) ApplyOp(op, &result);
        continue;
      }
      const uint64_t end = op.offset + op.data.size();
      for (uint64_t s = op.offset / kSectorBytes * kSectorBytes; s < end; s += kSectorBytes) {
        if (!keep(rng)) continue;
        const uint64_t stop = std::min(s + kSectorBytes, cache.size());
        if (stop > s) result.CopyFrom(cache, s, stop - s);
      }
    }
    pending.clear();
    durable = result;
    visible = std::move(result);
  }
};

class FaultEnv::FaultFile : public File {
 public:
  FaultFile(FaultEnv* env, std::shared_ptr<Inode> inode, std::string path, uint64_t epoch)
      : env_(env), inode_(std::move(inode)), path_(std::move(path)), epoch_(epoch) {}
  ~FaultFile() override { env_->Unlock(this); }

  Status ReadAt(uint64_t offset, const iovec* iov, size_t count) const override {
    return env_->ReadAt(this, offset, iov, count);
  }
  Status WriteAt(uint64_t offset, const iovec* iov, size_t count) override {
    return env_->WriteAt(this, offset, iov, count);
  }
  Status Sync() override { return env_->Sync(this); }
  Result<uint64_t> Size() const override { return env_->Size(this); }
  Status SetSize(uint64_t size) override { return env_->Resize(this, size, false); }
  Status Allocate(uint64_t size) override { return env_->Resize(this, size, true); }
  const std::string& path() const override { return path_; }
  Status Lock() override { return env_->Lock(this); }

  Inode& inode() const { return *inode_; }
  uint64_t epoch() const { return epoch_; }

 private:
  FaultEnv* const env_;
  const std::shared_ptr<Inode> inode_;
  const std::string path_;
  const uint64_t epoch_;  // the power cut generation it was opened in
};

FaultEnv::FaultEnv() = default;
FaultEnv::~FaultEnv() = default;

Status FaultEnv::Admit(bool mutating, uint64_t epoch, const std::string& what) {
  if (mutating) ++mutating_ops_;
  if (epoch != epoch_) {
    return Status::Error(what + ": power is off (file opened before a power cut)", EIO);
  }
  if (mutating && cut_armed_ && !frozen_) {
    if (ops_before_freeze_ == 0) {
      frozen_ = true;
    } else {
      --ops_before_freeze_;
    }
  }
  if (frozen_) return Status::Error(what + ": power is off (the disk froze for a power cut)", EIO);
  return Status::Ok();
}

Status FaultEnv::InjectedError(FaultOp op, const std::string& path, const std::string& what) {
  for (size_t i = 0; i < faults_.size(); ++i) {
    const Fault& f = faults_[i];
    if (f.op != op || path.find(f.path_substring) == std::string::npos) continue;
    if (fault_hits_[i]++ < f.after) continue;
    Status st = Status::FromErrno(f.error, what + " (injected fault)");
    if (!f.sticky) {
      faults_.erase(faults_.begin() + static_cast<ptrdiff_t>(i));
      fault_hits_.erase(fault_hits_.begin() + static_cast<ptrdiff_t>(i));
    }
    return st;
  }
  return Status::Ok();
}

void FaultEnv::StallWrites(const std::string& path_substring) {
  std::lock_guard<std::mutex> lock(mu_);
  stalled_ = path_substring;
}

void FaultEnv::ResumeWrites() {
  std::lock_guard<std::mutex> lock(mu_);
  stalled_.clear();
  stall_cv_.notify_all();
}

Status FaultEnv::WriteAt(FaultFile* file, uint64_t offset, const iovec* iov, size_t count) {
  std::unique_lock<std::mutex> lock(mu_);
  stall_cv_.wait(lock, [&] {
    return stalled_.empty() || file->path().find(stalled_) == std::string::npos;
  });
  const std::string what = fmt::format("writing {} at offset {}", file->path(), offset);
  Status st = Admit(true, file->epoch(), what);
  if (st.ok()) st = InjectedError(FaultOp::kWriteAt, file->path(), what);
  if (!st.ok()) return st;
  PendingOp op{OpKind::kWrite, offset, 0, {}};
  for (size_t i = 0; i < count; ++i) {
    const auto* bytes = static_cast<const uint8_t*>(iov[i].iov_base);
    op.data.insert(op.data.end(), bytes, bytes + iov[i].iov_len);
  }
  Inode& inode = file->inode();
  ApplyOp(op, &inode.visible);
  inode.pending.push_back(std::move(op));
  return Status::Ok();
}

Status FaultEnv::ReadAt(const FaultFile* file, uint64_t offset, const iovec* iov,
                        size_t count) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string what = fmt::format("reading {} at offset {}", file->path(), offset);
  Status st = Admit(false, file->epoch(), what);
  if (st.ok()) st = InjectedError(FaultOp::kRead, file->path(), what);
  if (!st.ok()) return st;
  const PageFile& contents = file->inode().visible;
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) total += iov[i].iov_len;
  if (offset + total > contents.size()) {
    return Status::Error(fmt::format("{} ends at offset {}, before the data does; was it "
                                     "truncated?",
                                     file->path(), contents.size()));
  }
  for (size_t i = 0; i < count; ++i) {
    contents.Read(offset, static_cast<uint8_t*>(iov[i].iov_base), iov[i].iov_len);
    offset += iov[i].iov_len;
  }
  return Status::Ok();
}

Status FaultEnv::Sync(FaultFile* file) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string what = "syncing " + file->path();
  Status st = Admit(true, file->epoch(), what);
  if (!st.ok()) return st;
  Inode& inode = file->inode();
  st = InjectedError(FaultOp::kSync, file->path(), what);
  if (!st.ok()) {
    // Linux after a writeback error: the dirty pages are marked clean and
    // their new contents are gone.
    inode.pending.clear();
    inode.visible = inode.durable;
    return st;
  }
  for (const PendingOp& op : inode.pending) ApplyOp(op, &inode.durable);
  inode.pending.clear();
  return Status::Ok();
}

Result<uint64_t> FaultEnv::Size(const FaultFile* file) {
  std::lock_guard<std::mutex> lock(mu_);
  Status st = Admit(false, file->epoch(), "examining " + file->path());
  if (!st.ok()) return st;
  return file->inode().visible.size();
}

Status FaultEnv::Lock(FaultFile* file) {
  std::lock_guard<std::mutex> lock(mu_);
  Status st = Admit(false, file->epoch(), "locking " + file->path());
  if (!st.ok()) return st;
  Inode& inode = file->inode();
  if (inode.lock_holder != nullptr && inode.lock_holder != file && inode.lock_epoch == epoch_) {
    return Status::Error(file->path() + " is in use by another open file", EWOULDBLOCK);
  }
  inode.lock_holder = file;
  inode.lock_epoch = epoch_;
  return Status::Ok();
}

void FaultEnv::Unlock(FaultFile* file) {
  std::lock_guard<std::mutex> lock(mu_);
  if (file->inode().lock_holder == file) file->inode().lock_holder = nullptr;
}

Status FaultEnv::Resize(FaultFile* file, uint64_t size, bool allocate) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string what = fmt::format("{} {} to {} bytes", allocate ? "allocating" : "sizing",
                                       file->path(), size);
  Status st = Admit(true, file->epoch(), what);
  if (st.ok()) {
    st = InjectedError(allocate ? FaultOp::kAllocate : FaultOp::kSetSize, file->path(), what);
  }
  if (!st.ok()) return st;
  PendingOp op{allocate ? OpKind::kAllocate : OpKind::kSetSize, 0, size, {}};
  Inode& inode = file->inode();
  ApplyOp(op, &inode.visible);
  inode.pending.push_back(std::move(op));
  return Status::Ok();
}

Result<std::unique_ptr<File>> FaultEnv::Open(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  Status st = Admit(false, epoch_, "opening " + path);
  if (!st.ok()) return st;
  auto it = visible_names_.find(path);
  if (it == visible_names_.end()) return Status::FromErrno(ENOENT, "opening " + path);
  return std::unique_ptr<File>(new FaultFile(this, it->second, path, epoch_));
}

Result<std::unique_ptr<File>> FaultEnv::Create(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  Status st = Admit(true, epoch_, "creating " + path);
  if (!st.ok()) return st;
  if (visible_names_.count(path) != 0) return Status::FromErrno(EEXIST, "creating " + path);
  auto inode = std::make_shared<Inode>();
  visible_names_[path] = inode;
  return std::unique_ptr<File>(new FaultFile(this, std::move(inode), path, epoch_));
}

Result<FileInfo> FaultEnv::Stat(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  Status st = Admit(false, epoch_, "examining " + path);
  if (!st.ok()) return st;
  FileInfo info;
  auto it = visible_names_.find(path);
  if (it != visible_names_.end()) {
    info.exists = true;
    info.regular = true;
    info.size = it->second->visible.size();
  }
  return info;
}

Status FaultEnv::Remove(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  Status st = Admit(true, epoch_, "removing " + path);
  if (!st.ok()) return st;
  visible_names_.erase(path);  // like PosixFileEnv, a missing file is fine
  return Status::Ok();
}

Status FaultEnv::SyncDirOf(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string dir = DirOf(path);
  Status st = Admit(true, epoch_, "syncing directory " + dir);
  if (!st.ok()) return st;
  std::erase_if(durable_names_, [&](const auto& entry) { return DirOf(entry.first) == dir; });
  for (const auto& [name, inode] : visible_names_) {
    if (DirOf(name) == dir) durable_names_[name] = inode;
  }
  return Status::Ok();
}

void FaultEnv::PowerCut(uint64_t seed, double keep_probability) {
  std::lock_guard<std::mutex> lock(mu_);
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution keep(std::clamp(keep_probability, 0.0, 1.0));
  // Names are visited in sorted order, so a seed replays the same cut.
  for (auto& [name, inode] : durable_names_) inode->Cut(rng, keep);
  visible_names_ = durable_names_;
  ++epoch_;
  frozen_ = false;
  cut_armed_ = false;
}

void FaultEnv::CutAfterOps(uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  cut_armed_ = true;
  ops_before_freeze_ = n;
  if (n == 0) frozen_ = true;
}

bool FaultEnv::frozen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return frozen_;
}

void FaultEnv::InjectError(const Fault& fault) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back(fault);
  fault_hits_.push_back(0);
}

void FaultEnv::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
  fault_hits_.clear();
}

std::vector<uint8_t> FaultEnv::Contents(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = visible_names_.find(path);
  if (it == visible_names_.end()) return {};
  const PageFile& contents = it->second->visible;
  std::vector<uint8_t> out(contents.size());
  contents.Read(0, out.data(), out.size());
  return out;
}

bool FaultEnv::Exists(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  return visible_names_.count(path) != 0;
}

void FaultEnv::Corrupt(const std::string& path, uint64_t offset, uint8_t mask) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = visible_names_.find(path);
  if (it == visible_names_.end()) return;
  for (PageFile* contents : {&it->second->durable, &it->second->visible}) {
    if (offset >= contents->size()) continue;
    uint8_t byte;
    contents->Read(offset, &byte, 1);
    byte ^= mask;
    contents->Write(offset, &byte, 1);
  }
}

uint64_t FaultEnv::mutating_ops() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mutating_ops_;
}

}  // namespace rvg::testing
