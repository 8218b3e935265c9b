#include "core/srl_replay.h"

#include <spdlog/spdlog.h>

#include <string>

namespace rvg {

Result<SrlReplayResult> ReplaySrl(Srl* srl, VolumeSet* volumes, uint64_t durable_seq,
                                  const std::function<void(const WriteRecord&)>& on_record,
                                  uint64_t redo_from) {
  SrlReplayResult result;
  Status st = srl->Recover(
      [&](const WriteRecord& r) -> Status {
        Status range = volumes->CheckRange(r.volume, r.offset, r.length);
        if (!range.ok()) {
          return Status::Error("SRL record seq " + std::to_string(r.seq) +
                               " does not fit this RVG's volumes (" + range.message() +
                               "); the SRL belongs to a different volume layout");
        }
        if (r.seq < redo_from) return Status::Ok();
        Status w = volumes->Write(r.volume, r.offset, r.data->data(), r.length);
        if (!w.ok()) return w;
        if (result.records++ == 0) result.first_seq = r.seq;
        if (on_record) on_record(r);
        return Status::Ok();
      },
      durable_seq);
  if (!st.ok()) return st.Annotate("replaying the SRL " + srl->path());
  if (result.records > 0) {
    st = volumes->SyncAll();
    if (!st.ok()) return st.Annotate("syncing images after SRL replay");
    spdlog::info("replayed {} SRL records (seq {}..{}) into the images", result.records,
                 result.first_seq, result.first_seq + result.records - 1);
  }
  return result;
}

}  // namespace rvg
