#include "core/range_check.h"

namespace rvg {

Result<bool> CheckRangeOnImage(const VolumeSet& volumes, const RangeCheck& check,
                               std::vector<uint8_t>* scratch) {
  // A hole reads as zeros: no need to read it.
  if (volumes.IsHole(check.volume, check.offset, check.length)) {
    return ZeroHash(check.length) == check.hash;
  }
  if (scratch->size() < check.length) scratch->resize(check.length);
  Status st = volumes.Read(check.volume, check.offset, scratch->data(), check.length);
  if (!st.ok()) {
    return st.Annotate("comparing " + std::to_string(check.length) + " bytes at offset " +
                       std::to_string(check.offset) + " of volume " +
                       std::to_string(check.volume));
  }
  return HashRegion(scratch->data(), check.length) == check.hash;
}

}  // namespace rvg
