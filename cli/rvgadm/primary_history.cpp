#include "cli/rvgadm/primary_history.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/srl.h"

namespace rvg {

Result<std::string> NewRlinkNeedsFullSync(const RvgConfig& config) {
  Result<std::unique_ptr<Srl>> srl = Srl::Open(config.srl_path, config.srl_uuid);
  if (!srl.ok()) return srl.status().Annotate("reading the primary's SRL");
  Status st = (*srl)->Lock();
  if (st.ok()) st = (*srl)->Recover([](const WriteRecord&) { return Status::Ok(); });
  if (!st.ok()) return st.Annotate("reading the primary's SRL");
  if ((*srl)->next_seq() > 1) {
    return "the primary has written " + std::to_string((*srl)->next_seq() - 1) +
           " writes already, and its SRL " +
           ((*srl)->tail_seq() > 1 ? "no longer holds them all" : "holds no history before them");
  }
  // A sparse image that was never written has no block allocated.
  for (const VolumeSpec& volume : config.volumes) {
    struct stat info;
    if (::stat(volume.path.c_str(), &info) != 0) {
      return Status::Error("cannot examine image " + volume.path + ": " + std::strerror(errno));
    }
    if (info.st_blocks > 0) return "image " + volume.path + " of volume " + volume.name + " holds data";
  }
  return std::string();
}

}  // namespace rvg
