// UndoArea: a secondary's way back from an unfinished bitmap resync
// (doc/resync.md, "Undo area").
//
// During a bitmap resync the primary overwrites the secondary's images
// region by region, so until the resync ends the images are a mix of two
// points of the history and the secondary is flagged inconsistent. If the
// primary dies meanwhile, the undo area lets the secondary go back to the
// consistent copy it had before the resync began: before a region
// overwrites bytes of a *consistent* secondary for the first time, their
// previous contents are appended to the undo file and made durable.
//
// Ordering (the invariant everything rests on): an image byte is
// overwritten by a resync only after its pre-resync contents are durable in
// the undo file:
//   Save():   records appended -> fdatasync -> header slot commits them ->
//             fdatasync; only then does the caller write the regions to
//             the images and sync them.
// Each byte is saved at most once per undo area (an in-memory set of saved
// extents per volume, rebuilt from the file at Recover()), so a saved copy
// is always the pre-resync one, however many sessions and resyncs resend
// the region before one of them ends. The area is therefore bounded by
// the resync's bitmap: at most the size of the regions it covers.
//
// Lifetime, against the secondary's persisted state (applied_seq and the
// "inconsistent" flag, in state.db on a real host):
//   - Begin(base_seq) when a resync is about to overwrite a consistent
//     secondary, BEFORE the inconsistent flag is persisted; base_seq is its
//     applied seq, which no resync moves until its end (the applier sends
//     no ordered write in between, and the SRL stays empty). A secondary
//     at seq 0 holds nothing of the primary's history, and an inconsistent
//     one (say, mid initial full sync, with no undo area) holds nothing
//     consistent: neither keeps an undo area.
//   - Discard() once the resync ended and the consistent flag is persisted
//     again (FinishResync), or after a rollback did the same.
//   - So at start (Recover): a file under a consistent flag is a leftover
//     (a resync or rollback that finished, or a Begin whose flag never
//     followed) and is removed; under an inconsistent flag it is the way
//     back, unless the secondary's applied seq is other than base_seq —
//     past it, or below it after a fast failback's end took the host back
//     to the new primary's line — which means the resync's end was
//     durable in the SRL and only the flag was not: then the flag is saved
//     and the file removed.
// A session lost midway leaves the area as it is; the next resync (a new
// session, or after a restart of either side) only adds regions not saved
// yet, and the area stays valid until some resync ends.
//
// FILE FORMAT (all integers little-endian)
//
//     offset 0     header slot A (512 bytes)
//     offset 512   header slot B (512 bytes)
//     offset 1024  records, back to back
//
// Header slot (the rest of the slot is zero):
//     0   8  magic "RVGUNDO\0"
//     8   4  format version (1)
//     12  8  slot counter: the valid slot with the higher counter is current
//     20  8  base_seq: the images equal the history up to it once the
//            records are written back
//     28  8  end: file offset just past the last committed record
//     36  8  number of committed records
//     44  8  data bytes of those records
//     52 64  owner (the RVG's SRL uuid), zero-padded: a file of another RVG
//            that used the same name is never taken for this one's
//     116 4  CRC-32C of bytes 0..115
// A commit writes the slot that is not current (counter + 1) and syncs it,
// so a torn slot write leaves the previous commit intact.
//
// Record: a 40-byte header, then `length` bytes of data:
//     0   4  magic 0x4f444e55 ("UNDO")
//     4   4  volume id
//     8   8  offset in the volume
//     16  4  length (1..1 MiB)
//     20  4  CRC-32C of the data
//     24  8  index: 0 for the first record of the file, then 1, 2, ...
//     32  4  reserved, zero
//     36  4  CRC-32C of bytes 0..35 (so it covers the data CRC too)
//
// Records below the committed end were durable before any region they
// cover was written: every one of them must validate, and one that does
// not is damage — a rollback refuses (it cannot know those bytes'
// pre-resync contents) rather than restore garbage. Bytes past the end
// are a torn append (a power cut or a failed write during Save): they were
// never followed by an image write, and are ignored and overwritten.
//
// Failures are sticky: after a failed write or fdatasync of the file, every
// mutating call returns that error, since a retried fdatasync could report
// lost data as durable (file_env.h). A new UndoArea (the next start)
// recovers from what the file holds.
//
// Thread-safety: one thread uses the area (the secondary's apply thread,
// or rvgadm); summary() may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/file_env.h"
#include "core/record.h"
#include "core/status.h"
#include "core/volume_set.h"

namespace rvg {

// What an undo area holds: `regions` records (a region, or the part of one
// not saved before) of `bytes` bytes in all, which bring the images back to
// the consistent copy at `base_seq`.
struct UndoSummary {
  uint64_t regions = 0;
  uint64_t bytes = 0;
  uint64_t base_seq = 0;
};

class UndoArea {
 public:
  // `path`: where the undo file lives (HOME/RVG.undo on a real host);
  // `owner`: the RVG's SRL uuid. Touches no file until Recover().
  UndoArea(std::string path, std::string owner, FileEnv* env = FileEnv::Posix());
  ~UndoArea();
  UndoArea(const UndoArea&) = delete;
  UndoArea& operator=(const UndoArea&) = delete;

  // Once, before anything else, on a secondary whose SRL is recovered:
  // `applied_seq` is its recovered applied seq, `*consistent` the persisted
  // flag. Removes leftovers and finishes an ended resync as described in
  // the header comment (calling `save_consistent`, which persists the
  // consistent flag, and setting *consistent); otherwise loads the area:
  // its header slot and every committed record's header, from which the
  // set of saved extents is rebuilt (the data is checked by RollBack()).
  // Fails on a damaged area, saying what the administrator can do.
  Status Recover(uint64_t applied_seq, bool* consistent,
                 const std::function<Status()>& save_consistent);

  // What the file at `path` holds by its header alone (nullopt: no file, or
  // no valid header of `owner`), without recovering or changing anything:
  // for the status of a stopped secondary.
  static Result<std::optional<UndoSummary>> Peek(const std::string& path, const std::string& owner,
                                                 FileEnv* env = FileEnv::Posix());

  // An area exists: regions overwritten since base_seq can be rolled back.
  bool active() const { return file_ != nullptr; }
  // Thread-safe; nullopt when there is no area.
  std::optional<UndoSummary> summary() const;
  const std::string& path() const { return path_; }

  // A resync is about to overwrite the images, consistent at `base_seq`:
  // creates the file and makes its (empty) header durable, directory entry
  // included. Does nothing when an area exists already (it goes on with
  // the same base) or when base_seq is 0 (nothing to go back to).
  Status Begin(uint64_t base_seq);

  // Before regions[0..count) are written to `volumes`: saves the current
  // contents of every byte they cover that was not saved before, and
  // returns only once that is durable. Does nothing without an area. On an
  // error none of the regions may be written.
  Status Save(const WriteRecord* regions, size_t count, const VolumeSet& volumes);

  // The resync ended and the consistent flag is persisted: removes the
  // file and syncs its directory. Does nothing without an area.
  Status Discard();

  // Writes every saved record back to `volumes` (each byte was saved once,
  // so the order does not matter), syncs them, calls `save_consistent`,
  // and only then discards the area. First reads and checks every record:
  // with one that fails its checksums nothing is written and the error
  // says so. After a crash at any point it can simply run again (Recover()
  // first). The secondary's applier must not run meanwhile. Fails with
  // ENOENT when there is no area.
  //
  // This is THE rollback: `rvgadm rollback` reaches it through
  // RollBackStoppedSecondary (secondary_rollback.h), and the future
  // `takeover` of a secondary that an unfinished resync left inconsistent
  // must call it too, after stopping the applier (whose Start() has
  // recovered the area) and before the host becomes primary at base_seq.
  Result<UndoSummary> RollBack(VolumeSet* volumes, const std::function<Status()>& save_consistent);

 private:
  struct Header {
    uint64_t counter = 0;
    uint64_t base_seq = 0;
    uint64_t end = 0;
    uint64_t records = 0;
    uint64_t bytes = 0;
    uint64_t slot = 0;  // where it lives (0: A, 1: B); not written
  };
  struct RecordHead {
    uint32_t volume = 0;
    uint64_t offset = 0;
    uint32_t length = 0;
    uint32_t data_crc = 0;
  };
  // Merged [start, end) extents already saved, per volume.
  using Extents = std::map<uint64_t, uint64_t>;

  // Reads both slots; the current valid one of this owner, or nullopt.
  Result<std::optional<Header>> ReadHeader(File* file) const;
  Status WriteHeader(const Header& header);
  // Reads the record header at `pos` (index `index`), checks it and its
  // place before `end`; the data is checked too when `data` is not null.
  Result<RecordHead> ReadRecord(uint64_t pos, uint64_t index, uint64_t end,
                                std::vector<uint8_t>* data) const;
  // Calls `visit` for every committed record, in order.
  Status ForEachRecord(bool with_data,
                       const std::function<Status(const RecordHead&, const uint8_t*)>& visit) const;
  // Parts of [offset, offset + length) of `volume` not saved yet, which
  // are marked saved.
  std::vector<std::pair<uint64_t, uint64_t>> Claim(uint32_t volume, uint64_t offset,
                                                    uint64_t length);
  // Appends a record of the current contents of that extent at
  // pending->end (not synced) and counts it in *pending.
  Status AppendRecord(uint32_t volume, uint64_t offset, uint64_t length, const VolumeSet& volumes,
                      Header* pending, std::vector<uint8_t>* buffer);
  Status Fail(const Status& st);
  Status Damaged(const std::string& what) const;
  void Publish();

  const std::string path_;
  const std::string owner_;
  FileEnv* const env_;
  std::unique_ptr<File> file_;  // open while the area exists
  Header header_;               // the committed state
  std::map<uint32_t, Extents> saved_;
  Status failure_;  // sticky

  mutable std::mutex summary_mu_;
  std::optional<UndoSummary> summary_;
};

}  // namespace rvg
