#include "cli/rvgadm/rlink_attributes.h"

#include "cli/rvgadm/arg_values.h"
#include "core/size_parse.h"

namespace rvg {

namespace {

Status Usage(const std::string& message) { return Status::Error(message, EINVAL); }

struct Choice {
  const char* key;
  std::vector<std::string> values;  // empty: not a choice (numeric attribute)
};

const std::vector<Choice>& Choices() {
  static const std::vector<Choice> kChoices = {
      {"synchronous", {"off", "override", "fail"}},
      {"sync_ack", {"received", "durable"}},
      {"ack_timeout", {}},
      {"latencyprot", {"off", "override", "fail"}},
      {"latency_high_mark", {}},
      {"latency_low_mark", {}},
      {"srlprot", {"autodcm", "dcm", "fail", "override", "off"}},
      {"bandwidth_limit", {}},
  };
  return kChoices;
}

std::string JoinAlternatives(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& value : values) out += (out.empty() ? "" : "|") + value;
  return out;
}

Result<uint64_t> ParseCount(const std::string& key, const std::string& value) {
  bool digits = !value.empty() && value.size() <= 18 &&
                value.find_first_not_of("0123456789") == std::string::npos;
  if (!digits) return Usage(key + "='" + value + "' must be a count of writes, e.g. 10000");
  return std::stoull(value);
}

// The canonical stored text of one attribute value.
Result<std::string> CanonicalValue(const std::string& key, const std::string& value) {
  for (const Choice& choice : Choices()) {
    if (key != choice.key || choice.values.empty()) continue;
    for (const std::string& allowed : choice.values) {
      if (value == allowed) return value;
    }
    return Usage(key + "='" + value + "' is not valid: use " + JoinAlternatives(choice.values));
  }
  if (key == "ack_timeout") {
    Result<double> seconds = ParseSeconds(key, value);
    if (!seconds.ok()) return seconds.status();
    if (*seconds <= 0) return Usage("ack_timeout must be more than 0 seconds");
    return value;
  }
  if (key == "latency_high_mark" || key == "latency_low_mark") {
    Result<uint64_t> count = ParseCount(key, value);
    if (!count.ok()) return count.status();
    return std::to_string(*count);
  }
  if (key == "bandwidth_limit") {
    if (value == "none" || value == "0") return std::string("0");
    Result<uint64_t> rate = ParseSize(value);
    if (!rate.ok()) {
      return Usage("bandwidth_limit='" + value + "' must be bytes per second (e.g. 50M) or none");
    }
    return std::to_string(*rate);
  }
  return Usage("unknown RLINK attribute '" + key + "': use one of " + RlinkAttributeNames());
}

}  // namespace

std::string RlinkAttributeNames() {
  std::string out;
  for (const Choice& choice : Choices()) out += (out.empty() ? "" : ", ") + std::string(choice.key);
  return out;
}

Result<AttributeList> CheckRlinkAttributes(const RlinkConfig& current,
                                           const std::vector<std::string>& key_values) {
  AttributeList list;
  uint64_t high = current.latency_high_mark;
  uint64_t low = current.latency_low_mark;
  for (const std::string& text : key_values) {
    Result<std::pair<std::string, std::string>> pair = SplitKeyValue(text);
    if (!pair.ok()) return pair.status();
    const std::string& key = pair->first;
    Result<std::string> value = CanonicalValue(key, pair->second);
    if (!value.ok()) return value.status();
    if (key == "latency_high_mark") high = std::stoull(*value);
    if (key == "latency_low_mark") low = std::stoull(*value);
    list.emplace_back(key, *value);
  }
  if (low >= high) {
    return Usage("latency_low_mark (" + std::to_string(low) +
                 ") must be below latency_high_mark (" + std::to_string(high) +
                 "); set both, e.g. latency_high_mark=10000 latency_low_mark=9000");
  }
  return list;
}

}  // namespace rvg
