// Srl: the Storage Replicator Log, a preallocated circular log file that
// holds every write of the RVG, in seq order, from the oldest write that some
// consumer (the local image checkpoint or an RLINK) may still need up to the
// newest.
//
// The on-disk format is specified in srl_format.h and doc/srl-format.md.
// In short: two checkpoint superblocks at the front, then a data area of
// records. A record is a 64-byte header (magic, format version, seq, volume,
// offset, length, CRC-32C of the data, a per-lap salt and a CRC-32C of the
// header chained from the previous record's header CRC) followed by the data,
// padded to 512 bytes. Positions are 64-bit "log sequence numbers" (LSNs)
// that only grow; the file offset is data_start + lsn % area_size, and the
// lap (lsn / area_size) selects the salt, so a record left from an earlier
// lap never validates. The chained header CRC means a record left behind a
// torn write in the same lap does not validate either.
//
// Threading: Append() and Sync() are called by one writer thread at a time;
// AdvanceTail() by one checkpoint thread at a time; Read() from any thread,
// concurrently with the others. Bookkeeping is guarded by an internal mutex;
// file I/O happens outside it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/file_env.h"
#include "core/record.h"
#include "core/status.h"

namespace rvg {

class Srl {
 public:
  // Creates a new SRL of `size` bytes at `path`, bound to the RVG `rvg_uuid`:
  // preallocates the whole file (a full disk is a clear ENOSPC error), writes
  // zeros over it (so appends never allocate; this takes a while for a large
  // SRL: about a second per GiB on a typical disk) and
  // writes an empty checkpoint whose first seq is 1. Refuses to overwrite a
  // non-empty existing file. `size` must be at least kMinSize.
  // When it returns OK the SRL survives a power cut (file and directory
  // synced).
  static Status Create(const std::string& path, uint64_t size, const std::string& rvg_uuid,
                       FileEnv* env = FileEnv::Posix());

  // Opens an SRL; checks magic, format version (a newer format is a clear
  // error) and that it belongs to `rvg_uuid`. Recover() must follow.
  static Result<std::unique_ptr<Srl>> Open(const std::string& path, const std::string& rvg_uuid,
                                           FileEnv* env = FileEnv::Posix());

  // Takes the exclusive lock on the SRL file (File::Lock), held until the
  // Srl is destroyed; rvgd does before it recovers or appends, so that a
  // second writer fails with a message naming the file and the holder.
  // Create() locks the file it initializes.
  Status Lock();

  static constexpr uint64_t kMinSize = 4ull << 20;

  // Bytes a record with `data_length` bytes of data occupies in the log.
  static uint64_t RecordBytes(uint32_t data_length);

  ~Srl();
  Srl(const Srl&) = delete;
  Srl& operator=(const Srl&) = delete;

  // Recovery scan: first syncs the log file, so that every record it visits
  // is durable (a killed writer may have left records in the page cache
  // only). Then, starting at the checkpoint, calls `visit` for every valid
  // record in seq order and stops at the first record that is torn, fails a
  // checksum, belongs to another lap or breaks the seq chain. That is the
  // end of the log — unless it lies at or below a seq known to have been
  // durable: `durable_seq` from the caller (e.g. the highest seq any
  // secondary was sent) or the synced_seq of the last checkpoint. Then the
  // log is damaged and Recover fails with a message naming the record's seq
  // and file offset; nothing may be appended. Afterwards the head sits right
  // after the last valid record, and Read()/Append() work. An error from
  // `visit` stops the scan and is returned. Call exactly once, before
  // anything else.
  Status Recover(const std::function<Status(const WriteRecord&)>& visit,
                 uint64_t durable_seq = 0);

  // Appends records from the front of `records[0..count)`, whose seqs must
  // be next_seq(), next_seq()+1, ... , in at most two pwritev calls (two when
  // the batch wraps). Stops at the first record that does not fit in the free
  // space and returns how many were appended: 0 means the log is full and the
  // caller must wait for AdvanceTail(). Nothing is synced: see Sync().
  Result<size_t> Append(const WriteRecord* records, size_t count);

  // fdatasync of the log file.
  //
  // Failures are sticky: once a write or an fdatasync of the file failed,
  // Append(), Sync() and AdvanceTail() return that error for good, since
  // the kernel may have dropped the unwritten pages and a retried fdatasync
  // would report them durable. Reopen (and recover) to go on.
  Status Sync();

  // Reads back record `seq` (tail_seq() <= seq < next_seq()) and verifies both
  // checksums. Fails cleanly if the tail moved past `seq` meanwhile.
  Result<WriteRecord> Read(uint64_t seq) const;

  // Releases every record before `new_tail_seq` (tail_seq() <= new_tail_seq
  // <= next_seq()) and records `synced_seq` (every record up to it was made
  // durable by Sync(); 0 = unknown) as the recovery floor: writes and
  // fdatasyncs the checkpoint, so that the space is reused only once the
  // new tail is durable. Writes nothing when neither moved.
  Status AdvanceTail(uint64_t new_tail_seq, uint64_t synced_seq = 0);

  // For a secondary that a bitmap resync moved to seq `next_seq - 1` without
  // the records in between: on an empty log (tail_seq() == next_seq()),
  // makes `next_seq` (>= next_seq()) the seq of the next appended record,
  // and makes that durable (the checkpoint is written and synced) before
  // returning. Fails on a non-empty log or a smaller seq. Recovery after it
  // starts at `next_seq`.
  //
  // The new checkpoint keeps the head's LSN and chain seed and only changes
  // the seq, so no record moves and a power cut during the checkpoint write
  // leaves either the old or the new position (see AdvanceTail). Nothing
  // can validate at the new position but a record appended after it:
  // whatever lies there from before carries a smaller seq. The checkpoint's
  // synced_seq is kept. A failed write is sticky, as for AdvanceTail().
  // Called by the writer thread, never concurrently with Append(). Call it
  // before recording `next_seq - 1` anywhere as applied or durable: until
  // it returns, a crash may recover the old position, and Recover() with a
  // durable_seq at or above the old next seq reports damage.
  //
  // `back`: a fast failback may also move the seq back (doc/failover.md:
  // the seqs this host held past the other line's fork were of the line
  // it gives up). The argument above does not depend on the direction —
  // nothing lies at the head's LSN in the current lap — and the
  // checkpoint's synced_seq is lowered to next_seq - 1, so that recovery
  // does not take the new, lower seqs for damage.
  Status Rebase(uint64_t next_seq, bool back = false);

  uint64_t tail_seq() const;        // oldest retained record
  uint64_t next_seq() const;        // seq of the next appended record
  uint64_t used_bytes() const;      // bytes between tail and head
  uint64_t capacity_bytes() const;  // size of the data area
  const std::string& path() const;

 private:
  struct Impl;
  explicit Srl(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rvg
