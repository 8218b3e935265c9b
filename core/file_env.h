// FileEnv and File: the only way core/ reaches files (the SRL and the volume
// images), modelled on LevelDB's Env.
//
// The production implementation, FileEnv::Posix(), is a thin layer over
// pread/pwritev/fdatasync. Tests substitute an in-memory implementation that
// keeps every write in memory until it is synced and can simulate a power
// cut (tests/unit/fault_env.h): every durability and ordering claim of the
// engine is proven over it.
//
// Durability model the engine relies on, and that the fault-injecting env
// enforces:
//   - WriteAt() data is volatile until the next successful Sync() of that
//     file; a power cut may keep any subset of the unsynced writes, torn at
//     any sector boundary, in any order.
//   - SetSize()/Allocate() are volatile until the next Sync() of the file.
//   - A newly created file's directory entry is volatile until SyncDirOf()
//     of its path succeeds.
//   - A failed Sync() may have dropped the unsynced data for good (Linux
//     marks the pages clean after a writeback error): the caller must treat
//     everything written since the last good sync as lost, never retry and
//     carry on.
//
// Errors carry errno codes (EIO, ENOSPC, ...) in Status::code().
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace rvg {

class File {
 public:
  virtual ~File() = default;

  // Reads exactly the bytes described by iov[0..count) from `offset`; a
  // short read (end of file) is an error.
  virtual Status ReadAt(uint64_t offset, const iovec* iov, size_t count) const = 0;
  // Writes every byte described by iov[0..count) at `offset`.
  virtual Status WriteAt(uint64_t offset, const iovec* iov, size_t count) = 0;
  // fdatasync.
  virtual Status Sync() = 0;
  virtual Result<uint64_t> Size() const = 0;
  // ftruncate: grows sparsely or shrinks.
  virtual Status SetSize(uint64_t size) = 0;
  // posix_fallocate of [0, size): a full disk is ENOSPC now rather than later.
  virtual Status Allocate(uint64_t size) = 0;
  virtual const std::string& path() const = 0;
  // Takes an exclusive lock on the file, held until this File is
  // destroyed: an SRL or image has one writer, and a second rvgd (or an
  // rvgadm command) that tries to lock it too fails instead of writing
  // under the first. Fails with EWOULDBLOCK, naming the holder when it can
  // be found, while another open File (in any process) holds the lock.
  virtual Status Lock() = 0;
  // The POSIX descriptor behind the file, for I/O the kernel can do without
  // a copy through user memory (the FUSE layer splices reads from it); -1
  // when there is none (an in-memory test file). Valid while the File is.
  virtual int native_fd() const { return -1; }

  // Single-buffer conveniences.
  Status ReadAt(uint64_t offset, void* buf, size_t n) const {
    iovec iov{buf, n};
    return ReadAt(offset, &iov, 1);
  }
  Status WriteAt(uint64_t offset, const void* data, size_t n) {
    iovec iov{const_cast<void*>(data), n};
    return WriteAt(offset, &iov, 1);
  }
};

struct FileInfo {
  bool exists = false;
  bool regular = false;
  uint64_t size = 0;
};

class FileEnv {
 public:
  virtual ~FileEnv() = default;

  // The real file system. Never null, never destroyed.
  static FileEnv* Posix();

  // Opens an existing file read-write.
  virtual Result<std::unique_ptr<File>> Open(const std::string& path) = 0;
  // Creates a new, empty file (mode 0600); EEXIST if something is there.
  virtual Result<std::unique_ptr<File>> Create(const std::string& path) = 0;
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  virtual Status Remove(const std::string& path) = 0;
  // fsync of the directory that holds `path`, so that a file created there
  // survives a power cut.
  virtual Status SyncDirOf(const std::string& path) = 0;
};

}  // namespace rvg
