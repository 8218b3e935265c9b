#include "cli/rvgadm/rlink_attributes.h"

#include <algorithm>

#include "cli/rvgadm/arg_values.h"
#include "core/size_parse.h"
#include "state/config_check.h"

namespace rvg {

namespace {

// StateDb stores bandwidth_limit in bytes/s; people type "50M".
Result<std::string> StoredValue(const std::string& key, const std::string& value) {
  if (key == "bandwidth_limit" && value != "none") {
    Result<uint64_t> rate = ParseSize(value);
    if (!rate.ok()) {
      return Status::Error("invalid value \"" + value +
                               "\" for bandwidth_limit: expected bytes per second (e.g. 50M) or none",
                           EINVAL);
    }
    return std::to_string(*rate);
  }
  if (key == "address") {
    Status status = CheckEndpointArg(value);
    if (!status.ok()) return status.Annotate("address");
  }
  return value;
}

size_t IndexOf(const AttributeList& list, const std::string& key) {
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].first == key) return i;
  }
  return list.size();
}

// Both marks moving: lowering them must set the low mark first, raising
// them the high mark first, or the step in between has low >= high.
void OrderMarks(const RlinkConfig& current, const RlinkConfig& proposed, AttributeList* list) {
  size_t high = IndexOf(*list, "latency_high_mark");
  size_t low = IndexOf(*list, "latency_low_mark");
  if (high == list->size() || low == list->size()) return;
  bool low_first = proposed.latency_low_mark < current.latency_high_mark;
  if (low_first != (low < high)) std::swap((*list)[high], (*list)[low]);
}

}  // namespace

Result<AttributeList> PrepareRlinkAttributes(const RlinkConfig& current,
                                             const std::vector<std::string>& key_values) {
  AttributeList list;
  RlinkConfig proposed = current;
  for (const std::string& text : key_values) {
    Result<std::pair<std::string, std::string>> pair = SplitKeyValue(text);
    if (!pair.ok()) return pair.status();
    const std::string& key = pair->first;
    Result<std::string> value = StoredValue(key, pair->second);
    if (!value.ok()) return value.status();
    Status status = ApplyRlinkAttribute(&proposed, key, *value);
    if (!status.ok()) return Status::Error(status.message(), EINVAL);
    // A key given twice: the last one wins, as it would one by one.
    size_t existing = IndexOf(list, key);
    if (existing < list.size()) list.erase(list.begin() + static_cast<std::ptrdiff_t>(existing));
    list.emplace_back(key, *value);
  }
  Status status = CheckRlinkAttributes(proposed);
  if (!status.ok()) return Status::Error(status.message(), EINVAL);
  OrderMarks(current, proposed, &list);
  return list;
}

}  // namespace rvg
