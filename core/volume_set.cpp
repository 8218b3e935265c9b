#include "core/volume_set.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include <fcntl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/fail_stop_file.h"

namespace rvg {

namespace {

std::string DescribeVolume(const VolumeSpec& spec) {
  return "volume " + spec.name + " (image " + spec.path + ")";
}

// Creates one image. `*created` tells the caller whether a new file now
// exists that it may have to remove again if a later image fails.
Status CreateImage(FileEnv* env, const VolumeSpec& spec, bool* created) {
  *created = false;
  Result<std::unique_ptr<File>> file = env->Create(spec.path);
  if (!file.ok()) {
    if (file.status().code() != EEXIST) return file.status().Annotate("creating image");
    Result<FileInfo> info = env->Stat(spec.path);
    if (!info.ok()) return info.status().Annotate("checking existing image " + spec.path);
    if (info->regular && info->size == spec.size) return Status::Ok();
    return Status::Error("image " + spec.path + " exists with size " +
                             std::to_string(info->size) + ", volume " + spec.name + " needs " +
                             std::to_string(spec.size) + "; remove it or pick another path",
                         EEXIST);
  }
  *created = true;
  // SetSize leaves the file sparse: no block is allocated until written.
  // The size is synced, then the directory entry, so that an image that
  // create reported exists after a power cut with its full size.
  Status status = (*file)->SetSize(spec.size);
  if (status.ok()) status = (*file)->Sync();
  if (status.ok()) status = env->SyncDirOf(spec.path);
  return status.Annotate("creating image of " + DescribeVolume(spec));
}

}  // namespace

Status VolumeSet::CreateImages(const std::vector<VolumeSpec>& specs, FileEnv* env) {
  // Images this call created are removed again on failure, so a retry after
  // fixing the problem does not trip over half of a previous attempt.
  std::vector<std::string> created_paths;
  for (const VolumeSpec& spec : specs) {
    bool created = false;
    Status status = CreateImage(env, spec, &created);
    if (created) created_paths.push_back(spec.path);
    if (!status.ok()) {
      for (const std::string& path : created_paths) (void)env->Remove(path);
      return status;
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<VolumeSet>> VolumeSet::Open(const std::vector<VolumeSpec>& specs,
                                                   FileEnv* env) {
  std::vector<std::unique_ptr<File>> files;
  files.reserve(specs.size());
  for (const VolumeSpec& spec : specs) {
    // Checkpoints, flushes and resyncs may sync an image concurrently: see
    // FailStopFile.
    Result<std::unique_ptr<File>> file = FailStopFile::Wrap(env->Open(spec.path));
    if (!file.ok()) return file.status().Annotate("opening image of " + DescribeVolume(spec));
    Result<uint64_t> size = (*file)->Size();
    if (!size.ok()) return size.status().Annotate("checking image of " + DescribeVolume(spec));
    if (*size != spec.size) {
      return Status::Error("image " + spec.path + " has size " + std::to_string(*size) +
                               ", volume " + spec.name + " needs " + std::to_string(spec.size) +
                               "; was the image resized or replaced?",
                           EINVAL);
    }
    files.push_back(std::move(*file));
  }
  return std::unique_ptr<VolumeSet>(new VolumeSet(specs, std::move(files)));
}

Status VolumeSet::Lock() {
  for (size_t i = 0; i < files_.size(); ++i) {
    Status status = files_[i]->Lock();
    if (!status.ok()) return status.Annotate("locking image of " + DescribeVolume(specs_[i]));
  }
  return Status::Ok();
}

VolumeSet::VolumeSet(std::vector<VolumeSpec> specs, std::vector<std::unique_ptr<File>> files)
    : specs_(std::move(specs)),
      files_(std::move(files)),
      counts_(std::make_unique<WriteCounts[]>(specs_.size())) {}

VolumeSet::~VolumeSet() = default;

// An RVG has a handful of volumes, so a linear scan beats any index.
const VolumeSpec* VolumeSet::Find(uint32_t volume) const {
  for (const VolumeSpec& spec : specs_) {
    if (spec.id == volume) return &spec;
  }
  return nullptr;
}

size_t VolumeSet::IndexOf(uint32_t volume) const {
  size_t i = 0;
  while (i < specs_.size() && specs_[i].id != volume) ++i;
  return i;
}

Status VolumeSet::CheckRange(uint32_t volume, uint64_t offset, uint64_t length) const {
  const VolumeSpec* spec = Find(volume);
  if (spec == nullptr) {
    return Status::Error("no volume with id " + std::to_string(volume) + " in this RVG", EINVAL);
  }
  // Written as a subtraction so that offset + length cannot overflow.
  if (offset > spec->size || length > spec->size - offset) {
    return Status::Error("I/O of " + std::to_string(length) + " bytes at offset " +
                             std::to_string(offset) + " is past the end of volume " +
                             spec->name + " (size " + std::to_string(spec->size) + ")",
                         ENOSPC);
  }
  return Status::Ok();
}

// Every image write goes through here, so that SyncAll() knows it is dirty.
Status VolumeSet::WriteAt(size_t index, uint64_t offset, const iovec* iov, size_t count) {
  Status st = files_[index]->WriteAt(offset, iov, count);
  // Counted once it returned (even failed: the image may have changed).
  counts_[index].written.fetch_add(1, std::memory_order_release);
  return st;
}

Status VolumeSet::Write(uint32_t volume, uint64_t offset, const void* data, size_t length) {
  Status status = CheckRange(volume, offset, length);
  if (!status.ok()) return status;
  const size_t index = IndexOf(volume);
  iovec iov{const_cast<void*>(data), length};
  return WriteAt(index, offset, &iov, 1).Annotate("writing " + std::to_string(length) +
                                                  " bytes to " + DescribeVolume(specs_[index]));
}

Status VolumeSet::WriteRecords(const WriteRecord* records, size_t count, size_t* written,
                               bool start_writeback) {
  *written = 0;
  std::vector<iovec> iov;
  iov.reserve(std::min(count, kMaxRunRecords));
  size_t first = 0;
  while (first < count) {
    const WriteRecord& head = records[first];
    Status status = CheckRange(head.volume, head.offset, head.length);
    if (!status.ok()) return status.Annotate(fmt::format("seq {}", head.seq));
    // The run: records that continue exactly where the previous one ended.
    iov.clear();
    iov.push_back({const_cast<uint8_t*>(head.data->data()), head.length});
    uint64_t end = head.offset + head.length;
    size_t last = first + 1;
    while (last < count && iov.size() < kMaxRunRecords && records[last].volume == head.volume &&
           records[last].offset == end) {
      const WriteRecord& r = records[last];
      status = CheckRange(r.volume, r.offset, r.length);
      if (!status.ok()) break;  // written on its own, and refused, below
      iov.push_back({const_cast<uint8_t*>(r.data->data()), r.length});
      end += r.length;
      ++last;
    }
    const size_t index = IndexOf(head.volume);
    status = WriteAt(index, head.offset, iov.data(), iov.size());
    if (!status.ok()) {
      return status.Annotate(fmt::format("writing seqs {}..{} ({} bytes at offset {}) to {}",
                                         head.seq, records[last - 1].seq, end - head.offset,
                                         head.offset, DescribeVolume(specs_[index])));
    }
    // A failed writeback is not lost by starting it here: the kernel keeps
    // the error for the file, and the next fdatasync (SyncAll) reports it.
    const int fd = files_[index]->native_fd();
    if (start_writeback && fd >= 0) {
      ::sync_file_range(fd, static_cast<off_t>(head.offset), static_cast<off_t>(end - head.offset),
                        SYNC_FILE_RANGE_WRITE);
    }
    first = last;
    *written = first;
  }
  return Status::Ok();
}

int VolumeSet::NativeFd(uint32_t volume) const {
  const size_t index = IndexOf(volume);
  return index < files_.size() ? files_[index]->native_fd() : -1;
}

namespace {

// Filesystems whose SEEK_DATA counts dirty page-cache pages as data. Others
// are not trusted with it (OpenZFS before 2.2.2 could call freshly written
// data a hole; a FUSE or network filesystem answers however it likes): a
// false hole would let a resync skip data and call the secondary a copy.
bool SeekDataTrusted(int fd) {
  struct statfs fs;
  if (fstatfs(fd, &fs) != 0) return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0xEF53:      // ext2/3/4
    case 0x58465342:  // XFS
    case 0x9123683E:  // btrfs
    case 0x01021994:  // tmpfs
      return true;
    default:
      return false;
  }
}

}  // namespace

bool VolumeSet::IsHole(uint32_t volume, uint64_t offset, uint64_t length) const {
  const int fd = NativeFd(volume);
  if (fd < 0 || length == 0 || !SeekDataTrusted(fd)) return false;
  const off_t data = lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
  if (data < 0) return errno == ENXIO;  // no data at or after offset
  return static_cast<uint64_t>(data) >= offset + length;
}

Status VolumeSet::Read(uint32_t volume, uint64_t offset, void* buf, size_t length) const {
  Status status = CheckRange(volume, offset, length);
  if (!status.ok()) return status;
  return files_[IndexOf(volume)]->ReadAt(offset, buf, length).Annotate(
      "reading " + std::to_string(length) + " bytes from " + DescribeVolume(*Find(volume)));
}

Status VolumeSet::SyncAll() {
  // Every dirty image is synced even after a failure, so one bad image does
  // not leave the others unsynced; the first error is the one reported.
  Status first_error;
  for (size_t i = 0; i < files_.size(); ++i) {
    WriteCounts& counts = counts_[i];
    // Read before the fdatasync: only writes that returned by now count
    // as covered by it.
    const uint64_t written = counts.written.load(std::memory_order_acquire);
    if (written == counts.synced.load(std::memory_order_acquire)) continue;
    Status st = files_[i]->Sync();
    if (!st.ok()) {
      if (first_error.ok()) first_error = st.Annotate(DescribeVolume(specs_[i]));
      continue;
    }
    // Never backwards, should two syncs of the image overlap.
    uint64_t synced = counts.synced.load(std::memory_order_relaxed);
    while (synced < written &&
           !counts.synced.compare_exchange_weak(synced, written, std::memory_order_acq_rel)) {
    }
  }
  return first_error;
}

}  // namespace rvg
