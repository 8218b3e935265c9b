// RvgFs's request handlers on the libfuse3 low-level API.
//
// The low-level API is used because the file set is fixed: inode numbers
// are simply 2 + the volume's index (1 is the root), so no path lookups or
// inode tables are needed and every handler reads immutable state without
// locks.
#define FUSE_USE_VERSION 312

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <vector>

#include "core/record.h"
#include "fuse/rvg_fs_internal.h"

namespace rvg {

namespace {

constexpr fuse_ino_t kRootIno = FUSE_ROOT_ID;
constexpr fuse_ino_t kFirstVolumeIno = FUSE_ROOT_ID + 1;

// Names, sizes and attributes never change while mounted, so the kernel may
// cache them for a while; a minute keeps getattr traffic off the data path
// without making a stale view (there is none) last forever.
constexpr double kCacheSeconds = 60.0;

// fuse_file_info::fh bit: the handle was opened with O_SYNC or O_DSYNC.
constexpr uint64_t kStrictHandle = 1;

constexpr uint64_t kStatfsBlockSize = 4096;

const FsState& StateOf(fuse_req_t req) {
  return *static_cast<const FsState*>(fuse_req_userdata(req));
}

const VolumeSpec* VolumeOf(const FsState& state, fuse_ino_t ino) {
  if (ino < kFirstVolumeIno || ino - kFirstVolumeIno >= state.volumes.size()) return nullptr;
  return &state.volumes[ino - kFirstVolumeIno];
}

// False when `ino` is neither the root nor a volume.
bool FillAttr(const FsState& state, fuse_ino_t ino, struct stat* st) {
  *st = {};
  st->st_ino = ino;
  st->st_uid = state.uid;
  st->st_gid = state.gid;
  // One fixed time for everything: the kernel drops its cached pages when
  // mtime changes, and nothing but writes through this very mount changes
  // the data, so the cache is never stale.
  st->st_atim = st->st_mtim = st->st_ctim = state.mount_time;
  if (ino == kRootIno) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return true;
  }
  const VolumeSpec* volume = VolumeOf(state, ino);
  if (volume == nullptr) return false;
  st->st_mode = S_IFREG | 0600;
  st->st_nlink = 1;
  st->st_size = static_cast<off_t>(volume->size);
  // A volume behaves like a fully allocated disk, whatever the sparseness
  // of the image behind it.
  st->st_blocks = static_cast<blkcnt_t>((volume->size + 511) / 512);
  return true;
}

void ReplyStatus(fuse_req_t req, const Status& status) {
  fuse_reply_err(req, status.ok() ? 0 : status.code() > 0 ? status.code() : EIO);
}

// Replies for an inode that is not a volume.
void ReplyNotAVolume(fuse_req_t req, fuse_ino_t ino) {
  fuse_reply_err(req, ino == kRootIno ? EISDIR : ENOENT);
}

void OnInit(void* /*userdata*/, struct fuse_conn_info* conn) {
  // No writeback cache: with it the kernel answers write() from the page
  // cache and sends the data later, merged and in its own order, so writes
  // would reach the SRL out of order and the durability contract (answer a
  // write once it is in the SRL) could not be kept.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // The largest write rvg carries end to end; libfuse negotiates the
  // kernel's max_pages from it.
  conn->max_write = kMaxWriteBytes;
  // Splice for replies only: a read the image can answer by itself goes
  // from the image file to /dev/fuse through a pipe, without a copy into
  // user memory (OnRead). Writes are not spliced: the engine needs their
  // bytes in memory anyway (SRL, RLINKs, reads of unapplied data).
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
  if (conn->capable & FUSE_CAP_SPLICE_MOVE) conn->want |= FUSE_CAP_SPLICE_MOVE;
  conn->want &= ~FUSE_CAP_SPLICE_READ;
}

void OnLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  const FsState& state = StateOf(req);
  if (parent != kRootIno) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  for (size_t i = 0; i < state.volumes.size(); ++i) {
    if (state.volumes[i].name != name) continue;
    struct fuse_entry_param entry = {};
    entry.ino = kFirstVolumeIno + i;
    FillAttr(state, entry.ino, &entry.attr);
    entry.attr_timeout = kCacheSeconds;
    entry.entry_timeout = kCacheSeconds;
    fuse_reply_entry(req, &entry);
    return;
  }
  fuse_reply_err(req, ENOENT);
}

void OnGetattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* /*fi*/) {
  struct stat st;
  if (!FillAttr(StateOf(req), ino, &st)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_reply_attr(req, &st, kCacheSeconds);
}

// Sizes, modes and owners are fixed by the RVG's configuration. Requests
// that would leave them as they are succeed (tools truncate to the current
// size or copy modes as a matter of course); times are accepted and not
// kept, since the fixed mtime is what keeps the kernel's cache.
void OnSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               struct fuse_file_info* /*fi*/) {
  struct stat st;
  if (!FillAttr(StateOf(req), ino, &st)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  bool changes_fixed_attr =
      ((to_set & FUSE_SET_ATTR_SIZE) && attr->st_size != st.st_size) ||
      ((to_set & FUSE_SET_ATTR_MODE) && (attr->st_mode & 07777) != (st.st_mode & 07777)) ||
      ((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != st.st_uid) ||
      ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != st.st_gid);
  if (changes_fixed_attr) {
    fuse_reply_err(req, EPERM);
    return;
  }
  fuse_reply_attr(req, &st, kCacheSeconds);
}

void OnReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
               struct fuse_file_info* /*fi*/) {
  const FsState& state = StateOf(req);
  if (ino != kRootIno) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  // Entry k is ".", "..", then volume k - 2; the offset handed back with
  // each entry is the index of the one after it.
  std::vector<char> buf(size);
  size_t used = 0;
  size_t count = 2 + state.volumes.size();
  for (size_t k = static_cast<size_t>(std::max<off_t>(off, 0)); k < count; ++k) {
    struct stat st = {};
    const char* name = k == 0 ? "." : k == 1 ? ".." : state.volumes[k - 2].name.c_str();
    st.st_ino = k < 2 ? kRootIno : kFirstVolumeIno + (k - 2);
    st.st_mode = k < 2 ? S_IFDIR : S_IFREG;
    size_t needed = fuse_add_direntry(req, buf.data() + used, size - used, name, &st,
                                      static_cast<off_t>(k + 1));
    if (needed > size - used) break;
    used += needed;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void OnOpen(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  const VolumeSpec* volume = VolumeOf(StateOf(req), ino);
  if (volume == nullptr) {
    ReplyNotAVolume(req, ino);
    return;
  }
  // Only seen if the kernel passes O_TRUNC on (atomic_o_trunc); otherwise
  // the truncation arrives as a setattr and is refused there.
  if ((fi->flags & O_TRUNC) && volume->size != 0) {
    fuse_reply_err(req, EPERM);
    return;
  }
  fi->fh = (fi->flags & (O_SYNC | O_DSYNC)) ? kStrictHandle : 0;
  // Every change to the data passes through this mount's page cache, so
  // what the cache holds from an earlier open is still right.
  fi->keep_cache = 1;
  fuse_reply_open(req, fi);
}

void OnRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
            struct fuse_file_info* /*fi*/) {
  const FsState& state = StateOf(req);
  const VolumeSpec* volume = VolumeOf(state, ino);
  if (volume == nullptr) {
    ReplyNotAVolume(req, ino);
    return;
  }
  uint64_t offset = static_cast<uint64_t>(off);  // never negative for a regular file
  if (offset >= volume->size) {
    fuse_reply_buf(req, nullptr, 0);
    return;
  }
  size_t length = static_cast<size_t>(std::min<uint64_t>(size, volume->size - offset));
  // When the image alone holds the range's current data, libfuse splices
  // it from the image into the reply (no copy through user memory; it
  // falls back to a read into its own buffer if splicing fails).
  const int fd = state.io->DirectReadFd(volume->id, offset, length);
  if (fd >= 0) {
    struct fuse_bufvec direct = FUSE_BUFVEC_INIT(length);
    direct.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    direct.buf[0].fd = fd;
    direct.buf[0].pos = static_cast<off_t>(offset);
    fuse_reply_data(req, &direct, FUSE_BUF_SPLICE_MOVE);
    return;
  }
  // One buffer per worker thread, grown once: no allocation per read.
  thread_local std::vector<char> buffer;
  if (buffer.size() < length) buffer.resize(std::max<size_t>(length, kMaxWriteBytes));
  Status status = state.io->Read(volume->id, offset, buffer.data(), length);
  if (!status.ok()) {
    ReplyStatus(req, status);
    return;
  }
  fuse_reply_buf(req, buffer.data(), length);
}

void OnWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             struct fuse_file_info* fi) {
  const FsState& state = StateOf(req);
  const VolumeSpec* volume = VolumeOf(state, ino);
  if (volume == nullptr) {
    ReplyNotAVolume(req, ino);
    return;
  }
  // A volume stands for a disk of fixed size that cannot grow. A request
  // that does not fit is refused whole with ENOSPC rather than cut short:
  // a partial answer would leave the caller's block half written at the
  // end, and ENOSPC says plainly that the volume ends here. (The kernel
  // splits a buffered write at a page it does not cache, so a write() that
  // straddles the end from an unaligned offset may first be answered
  // short, up to that page, and fail with ENOSPC only when retried.)
  uint64_t offset = static_cast<uint64_t>(off);  // never negative for a regular file
  if (offset > volume->size || size > volume->size - offset) {
    fuse_reply_err(req, ENOSPC);
    return;
  }
  // The kernel never sends more than the max_write negotiated in OnInit.
  if (size > kMaxWriteBytes) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  if (size == 0) {
    fuse_reply_write(req, 0);
    return;
  }
  // The write's own flags carry O_DSYNC for pwritev2(RWF_DSYNC) as well.
  bool strict = (fi->fh & kStrictHandle) != 0 || (fi->flags & (O_SYNC | O_DSYNC)) != 0;
  Status status = state.io->Write(volume->id, offset, buf, size, strict);
  if (!status.ok()) {
    ReplyStatus(req, status);
    return;
  }
  fuse_reply_write(req, size);
}

// fsync and fdatasync are the durability point. close() (flush) is not:
// a disk's contract knows no close, and filesystems on a loop device
// never close anyway.
void OnFsync(fuse_req_t req, fuse_ino_t /*ino*/, int /*datasync*/, struct fuse_file_info* /*fi*/) {
  ReplyStatus(req, StateOf(req).io->Flush());
}

void OnNoOp(fuse_req_t req, fuse_ino_t /*ino*/, struct fuse_file_info* /*fi*/) {
  fuse_reply_err(req, 0);
}

// Reports the volumes as a full disk: blocks = their total size, nothing
// free. That is the truth (no file can be created), and writing inside a
// volume never needs free space, so tools that look at df are not misled.
void OnStatfs(fuse_req_t req, fuse_ino_t /*ino*/) {
  const FsState& state = StateOf(req);
  uint64_t total = 0;
  for (const VolumeSpec& volume : state.volumes) total += volume.size;
  struct statvfs sv = {};
  sv.f_bsize = kStatfsBlockSize;
  sv.f_frsize = kStatfsBlockSize;
  sv.f_blocks = (total + kStatfsBlockSize - 1) / kStatfsBlockSize;
  sv.f_files = state.volumes.size() + 1;
  sv.f_namemax = 255;
  fuse_reply_statfs(req, &sv);
}

// The set of files is the RVG's configuration; it does not change here.
void Refuse(fuse_req_t req) { fuse_reply_err(req, EPERM); }

}  // namespace

const struct fuse_lowlevel_ops& VolumeOps() {
  static const struct fuse_lowlevel_ops kOps = [] {
    struct fuse_lowlevel_ops ops = {};
    ops.init = OnInit;
    ops.lookup = OnLookup;
    ops.getattr = OnGetattr;
    ops.setattr = OnSetattr;
    ops.readdir = OnReaddir;
    ops.open = OnOpen;
    ops.read = OnRead;
    ops.write = OnWrite;
    ops.fsync = OnFsync;
    ops.flush = OnNoOp;
    ops.release = OnNoOp;
    ops.statfs = OnStatfs;
    ops.create = [](fuse_req_t r, fuse_ino_t, const char*, mode_t, fuse_file_info*) { Refuse(r); };
    ops.mknod = [](fuse_req_t r, fuse_ino_t, const char*, mode_t, dev_t) { Refuse(r); };
    ops.mkdir = [](fuse_req_t r, fuse_ino_t, const char*, mode_t) { Refuse(r); };
    ops.unlink = [](fuse_req_t r, fuse_ino_t, const char*) { Refuse(r); };
    ops.rmdir = [](fuse_req_t r, fuse_ino_t, const char*) { Refuse(r); };
    ops.symlink = [](fuse_req_t r, const char*, fuse_ino_t, const char*) { Refuse(r); };
    ops.link = [](fuse_req_t r, fuse_ino_t, fuse_ino_t, const char*) { Refuse(r); };
    ops.rename = [](fuse_req_t r, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) {
      Refuse(r);
    };
    return ops;
  }();
  return kOps;
}

}  // namespace rvg
