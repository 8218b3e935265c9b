#include "state/config_check.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <set>

#include "core/dirty_map.h"
#include "core/text.h"

namespace rvg {
namespace {

Status Invalid(const std::string& key, const std::string& value, const std::string& expected) {
  return Status::Error(
      "invalid value \"" + Printable(value) + "\" for " + key + ": expected " + expected, EINVAL);
}

// "a, b or c", for error messages.
std::string ListChoices(std::initializer_list<const char*> choices) {
  std::string text;
  size_t i = 0;
  for (const char* choice : choices) {
    if (i > 0) text += (i + 1 == choices.size()) ? " or " : ", ";
    text += choice;
    ++i;
  }
  return text;
}

Status CheckChoice(const std::string& key, const std::string& value,
                   std::initializer_list<const char*> choices) {
  for (const char* choice : choices) {
    if (value == choice) return Status::Ok();
  }
  return Invalid(key, value, ListChoices(choices));
}

// A whole decimal number: no sign, no suffix, no spaces. Leaves *value
// alone on failure.
bool ParseUint(const std::string& text, uint64_t* value) {
  const char* end = text.data() + text.size();
  uint64_t parsed = 0;
  auto [ptr, ec] = std::from_chars(text.data(), end, parsed);
  if (text.empty() || ec != std::errc() || ptr != end) return false;
  *value = parsed;
  return true;
}

bool ParsePositiveSeconds(const std::string& text, double* value) {
  const char* end = text.data() + text.size();
  double parsed = 0;
  auto [ptr, ec] = std::from_chars(text.data(), end, parsed);
  if (text.empty() || ec != std::errc() || ptr != end) return false;
  if (!std::isfinite(parsed) || parsed <= 0) return false;
  *value = parsed;
  return true;
}

Status CheckRvgName(const std::string& name) {
  bool ok = !name.empty() && name[0] != '.' && name[0] != '-';
  for (char c : name) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '-';
    ok = ok && allowed;
  }
  if (ok) return Status::Ok();
  return Status::Error("invalid RVG name \"" + Printable(name) +
                           "\": use letters, digits, \".\", \"_\" and \"-\", not starting with "
                           "\".\" or \"-\"",
                       EINVAL);
}

// `rvg` is a checked RVG name. A volume name is a file name in the mount
// and appears in logs and status output.
Status CheckVolumeName(const std::string& rvg, const std::string& name) {
  if (!name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
      IsPrintableUtf8(name)) {
    return Status::Ok();
  }
  return Status::Error("invalid volume name \"" + Printable(name) + "\" in RVG " + rvg +
                           ": it must be a file name (no \"/\") of printable characters",
                       EINVAL);
}

// Volume ids name a volume on every host and in every WRITE; 0 is never
// handed out.
Status CheckVolumes(const RvgConfig& config) {
  std::set<uint32_t> ids;
  for (const VolumeSpec& volume : config.volumes) {
    Status status = CheckVolumeName(config.name, volume.name);
    if (!status.ok()) return status;
    const std::string which = "volume " + Printable(volume.name) + " of RVG " + config.name;
    if (volume.id == 0) return Status::Error(which + " has id 0; ids start at 1", EINVAL);
    if (!ids.insert(volume.id).second) {
      return Status::Error("volume id " + std::to_string(volume.id) + " is used twice in RVG " +
                               config.name,
                           EINVAL);
    }
    if (volume.size == 0) return Status::Error(which + " has size 0", EINVAL);
  }
  return Status::Ok();
}

Status CheckRvg(const RvgConfig& config, bool require_srl) {
  Status status = CheckRvgName(config.name);
  if (status.ok()) status = CheckChoice("role", config.role, {"primary", "secondary"});
  if (status.ok()) status = CheckDurability(config.durability);
  if (status.ok() && require_srl && (config.srl_path.empty() || config.srl_uuid.empty())) {
    status = Status::Error("RVG " + config.name + " needs an SRL (path and identity): every RVG, "
                           "a secondary too, logs its writes in one",
                           EINVAL);
  }
  if (status.ok() && !config.srl_path.empty() && config.srl_uuid.empty()) {
    status = Status::Error("the SRL of RVG " + config.name + " has no identity", EINVAL);
  }
  const uint64_t region = config.region_size;
  if (status.ok() && (region < kMinRegionSize || (region & (region - 1)) != 0)) {
    status = Status::Error("region size of RVG " + config.name + " is " + std::to_string(region) +
                               " bytes: it must be a power of two of at least " +
                               std::to_string(kMinRegionSize),
                           EINVAL);
  }
  if (status.ok()) status = CheckVolumes(config);
  return status;
}

}  // namespace

Status CheckRvgConfig(const RvgConfig& config) { return CheckRvg(config, true); }

// A secondary created by format 1 has no SRL (rvgd refuses to start it,
// saying so, but rvgadm can show and delete it); a primary always had one.
Status CheckStoredRvg(const RvgConfig& config) { return CheckRvg(config, config.role == "primary"); }

Status CheckDurability(const std::string& durability) {
  return CheckChoice("durability", durability, {"flush", "strict"});
}

Status CheckRlinkAttributes(const RlinkConfig& rlink) {
  if (rlink.address.find("://") == std::string::npos) {
    return Invalid("address", rlink.address, "a ZeroMQ endpoint such as tcp://host:port");
  }
  Status status = CheckChoice("synchronous", rlink.synchronous, {"off", "override", "fail"});
  if (status.ok()) status = CheckChoice("sync_ack", rlink.sync_ack, {"received", "durable"});
  if (status.ok()) {
    status = CheckChoice("latencyprot", rlink.latencyprot, {"off", "override", "fail"});
  }
  if (status.ok()) {
    status = CheckChoice("srlprot", rlink.srlprot, {"autodcm", "dcm", "fail", "override", "off"});
  }
  if (!status.ok()) return status;
  if (!std::isfinite(rlink.ack_timeout) || rlink.ack_timeout <= 0) {
    char text[32];
    std::snprintf(text, sizeof(text), "%g", rlink.ack_timeout);
    return Invalid("ack_timeout", text, "a positive number of seconds");
  }
  if (!std::isfinite(rlink.source_wait) || rlink.source_wait <= 0) {
    char text[32];
    std::snprintf(text, sizeof(text), "%g", rlink.source_wait);
    return Invalid("source_wait", text, "a positive number of seconds");
  }
  if (rlink.latency_low_mark >= rlink.latency_high_mark) {
    return Status::Error("latency_low_mark (" + std::to_string(rlink.latency_low_mark) +
                             ") must be below latency_high_mark (" +
                             std::to_string(rlink.latency_high_mark) + ")",
                         EINVAL);
  }
  return Status::Ok();
}

Status ApplyRlinkAttribute(RlinkConfig* rlink, const std::string& key, const std::string& value) {
  if (key == "address") {
    rlink->address = value;
  } else if (key == "synchronous") {
    rlink->synchronous = value;
  } else if (key == "sync_ack") {
    rlink->sync_ack = value;
  } else if (key == "latencyprot") {
    rlink->latencyprot = value;
  } else if (key == "srlprot") {
    rlink->srlprot = value;
  } else if (key == "ack_timeout" || key == "source_wait") {
    if (!ParsePositiveSeconds(value,
                              key == "ack_timeout" ? &rlink->ack_timeout : &rlink->source_wait)) {
      return Invalid(key, value, "a positive number of seconds");
    }
  } else if (key == "latency_high_mark" || key == "latency_low_mark") {
    uint64_t* mark =
        key == "latency_high_mark" ? &rlink->latency_high_mark : &rlink->latency_low_mark;
    if (!ParseUint(value, mark)) return Invalid(key, value, "a whole number of writes");
  } else if (key == "bandwidth_limit") {
    if (value == "none") {
      rlink->bandwidth_limit = 0;
    } else if (!ParseUint(value, &rlink->bandwidth_limit)) {
      return Invalid(key, value, "a whole number of bytes per second or none");
    }
  } else {
    return Status::Error(
        "unknown attribute \"" + Printable(key) + "\": expected " +
            ListChoices({"address", "synchronous", "sync_ack", "ack_timeout", "latencyprot",
                         "latency_high_mark", "latency_low_mark", "srlprot", "bandwidth_limit",
                         "source_wait"}),
        EINVAL);
  }
  return Status::Ok();
}

}  // namespace rvg
