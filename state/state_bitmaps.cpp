// StateDb's bitmap methods (the `bitmaps` table of state/schema.h), kept
// apart from state_db.cpp to keep each file readable.
//
// A row holds one chunk of a (rvg, rlink, volume) bitmap exactly as
// DirtyMap::Chunk() produced it. Only chunks with a bit set have a row, so
// a clean map is no rows and a mostly clean one costs little; a save that
// cleans a chunk deletes its row. A save is one write transaction, so a
// power cut leaves all of its chunks or none.
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/text.h"
#include "state/sqlite_statement.h"
#include "state/state_db.h"
#include "state/state_db_rows.h"

namespace rvg {
namespace {

std::string BitmapName(const std::string& rvg, const std::string& rlink) {
  return rlink.empty() ? "the failback bitmap of RVG " + Printable(rvg)
                       : "the bitmap of secondary " + Printable(rlink) + " of RVG " +
                             Printable(rvg);
}

bool AllZero(const std::vector<uint8_t>& bits) {
  return std::all_of(bits.begin(), bits.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace

Status StateDb::SaveBitmapChunks(const std::string& rvg, const std::string& rlink,
                                 const std::vector<BitmapChunk>& chunks) {
  const std::string what = "saving " + BitmapName(rvg, rlink);
  SqlTransaction tx(db_, what);
  Status status = tx.BeginWrite();
  // Checked up front: a save of clean chunks only deletes, which would
  // otherwise succeed silently for an RVG that does not exist.
  if (status.ok()) status = RequireRvg(db_, rvg, what);
  if (!status.ok()) return status;
  SqlStatement upsert(db_,
                      "INSERT INTO bitmaps (rvg, rlink, volume_id, chunk_index, bits) "
                      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (rvg, rlink, volume_id, chunk_index) "
                      "DO UPDATE SET bits = excluded.bits");
  SqlStatement erase(db_,
                     "DELETE FROM bitmaps WHERE rvg = ? AND rlink = ? AND volume_id = ? AND "
                     "chunk_index = ?");
  for (const BitmapChunk& chunk : chunks) {
    const bool clean = AllZero(chunk.bits);
    SqlStatement& st = clean ? erase : upsert;
    st.BindText(rvg).BindText(rlink).BindUint(chunk.volume).BindUint(chunk.index);
    if (!clean) st.BindBlob(chunk.bits);
    if (status = st.Run(what); !status.ok()) return status;
    st.Reset();
  }
  return tx.Commit();
}

Result<std::vector<BitmapChunk>> StateDb::LoadBitmap(const std::string& rvg,
                                                     const std::string& rlink) {
  const std::string what = "reading " + BitmapName(rvg, rlink);
  SqlTransaction tx(db_, what);
  Status status = tx.BeginRead();
  if (status.ok()) status = RequireRvg(db_, rvg, what);
  if (!status.ok()) return status;
  SqlStatement st(db_,
                  "SELECT volume_id, chunk_index, bits FROM bitmaps WHERE rvg = ? AND rlink = ?");
  st.BindText(rvg).BindText(rlink);
  std::vector<BitmapChunk> chunks;
  for (;;) {
    Result<bool> row = st.Step(what);
    if (!row.ok()) return row.status();
    if (!*row) break;
    const int64_t volume = st.Int(0);
    if (volume < 0 || volume > int64_t{UINT32_MAX}) {
      return DamagedRow(what, Status::Error("volume id " + std::to_string(volume) +
                                            " is not a 32-bit volume id"));
    }
    chunks.push_back(BitmapChunk{static_cast<uint32_t>(volume), st.Uint(1), st.Blob(2)});
  }
  // Sorted here rather than by SQL, which would order chunk indexes as the
  // signed integers they are stored as.
  std::sort(chunks.begin(), chunks.end(), [](const BitmapChunk& a, const BitmapChunk& b) {
    return a.volume != b.volume ? a.volume < b.volume : a.index < b.index;
  });
  return chunks;
}

Status StateDb::DeleteBitmap(const std::string& rvg, const std::string& rlink) {
  const std::string what = "deleting " + BitmapName(rvg, rlink);
  SqlTransaction tx(db_, what);
  Status status = tx.BeginWrite();
  if (status.ok()) status = RequireRvg(db_, rvg, what);
  if (!status.ok()) return status;
  SqlStatement st(db_, "DELETE FROM bitmaps WHERE rvg = ? AND rlink = ?");
  st.BindText(rvg).BindText(rlink);
  if (status = st.Run(what); !status.ok()) return status;
  return tx.Commit();
}

}  // namespace rvg
