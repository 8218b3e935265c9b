#include "cli/common/status_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cli/common/json_fields.h"
#include "cli/common/progress_bar.h"
#include "core/size_parse.h"

namespace rvg {

namespace {

using nlohmann::json;

// Empty strings mean "none" in the structs; JSON says so with null.
json StringOrNull(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

// Seconds and percentages to a precision people read (and JSON diffs stay
// quiet about noise); unknown is null.
// `per_unit` steps per unit; dividing by it (not multiplying by the step)
// gives the double nearest the decimal, which JSON prints short.
json Rounded(std::optional<double> value, double per_unit) {
  if (!value) return nullptr;
  return std::round(*value * per_unit) / per_unit;
}

template <typename T>
json ValueOrNull(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

json VolumesJson(const std::vector<VolumeSpec>& volumes) {
  json list = json::array();
  for (const VolumeSpec& volume : volumes) {
    list.push_back({{"name", volume.name}, {"path", volume.path}, {"size", volume.size}});
  }
  return list;
}

// How a link is protected: "curve" (a pinned key), "insecure" (opted out)
// or "unpaired" (nothing pinned yet: rvgd refuses to start).
std::string LinkSecurity(const std::string& peer_key, bool insecure) {
  if (insecure) return "insecure";
  return peer_key.empty() ? "unpaired" : "curve";
}

json HistogramJson(const LatencyHistogram::Snapshot& h) {
  json le = json::array();
  for (size_t i = 0; i < LatencyHistogram::kBounds; ++i) {
    le.push_back(LatencyHistogram::BoundSeconds(i));
  }
  return {{"le", le}, {"buckets", h.cumulative}, {"sum_s", h.sum_s}, {"count", h.count}};
}

json RlinkJson(const RlinkLive& live) {
  const RlinkConfig& rlink = live.config;
  json resync = nullptr;
  if (live.resync) {
    json rate = nullptr;
    if (live.resync->rate) rate = static_cast<uint64_t>(std::llround(std::max(0.0, *live.resync->rate)));
    resync = {{"done", live.resync->done},
              {"total", live.resync->total},
              {"rate", rate},
              {"eta_s", Rounded(live.resync->eta_s, 10)}};
  }
  json counters = nullptr;
  if (live.counters) {
    counters = {{"resync_bytes_sent", live.counters->resync_bytes_sent},
                {"regions_identical", live.counters->regions_identical},
                {"regions_zero", live.counters->regions_zero},
                {"verify_bytes_sent", live.counters->verify_bytes_sent}};
  }
  json latency = nullptr;
  if (live.measures) {
    latency = {{"net_ack", HistogramJson(live.measures->net_ack)},
               {"data_ack", HistogramJson(live.measures->data_ack)}};
    if (counters.is_object()) {
      uint64_t rejected = 0;
      for (const auto& [reason, count] : live.measures->rejected_by_reason) rejected += count;
      counters["rejected_messages"] = rejected;
      counters["rejected_by_reason"] = NamedCountsJson(live.measures->rejected_by_reason);
      counters["errors"] = NamedCountsJson(live.measures->errors);
    }
  }
  json sync_now = nullptr;
  if (live.sync_effective) sync_now = *live.sync_effective ? "sync" : "async";
  json protection = nullptr;
  if (live.latency_protection) {
    protection = {{"latency", *live.latency_protection}, {"srl", live.srl_protection.value_or(false)}};
  }
  return {{"name", rlink.name},
          {"address", rlink.address},
          {"synchronous", rlink.synchronous},
          {"synchronous_effective", sync_now},
          {"sync_ack", rlink.sync_ack},
          {"ack_timeout", rlink.ack_timeout},
          {"latencyprot", rlink.latencyprot},
          {"latency_high_mark", rlink.latency_high_mark},
          {"latency_low_mark", rlink.latency_low_mark},
          {"protection", protection},
          {"srlprot", rlink.srlprot},
          {"bandwidth_limit", rlink.bandwidth_limit},
          {"source_wait", rlink.source_wait},
          {"state", rlink.state},
          {"sent_seq", rlink.sent_seq},
          {"net_acked_seq", rlink.net_acked_seq},
          {"data_acked_seq", rlink.data_acked_seq},
          {"writes_behind", live.writes_behind},
          {"bytes_behind", live.bytes_behind},
          {"seconds_behind", Rounded(live.seconds_behind, 1000)},
          {"srl_used_bytes", ValueOrNull(live.srl_used_bytes)},
          {"sending_from", StringOrNull(live.sending_from)},
          {"resync", resync},
          {"counters", counters},
          {"latency", latency},
          {"dcm_dirty_bytes", live.dcm_dirty_bytes ? json(*live.dcm_dirty_bytes) : json(nullptr)},
          {"security", LinkSecurity(rlink.peer_key, rlink.insecure)},
          {"peer_key", StringOrNull(rlink.peer_key)}};
}

// The RVG's weakest link: a secondary has one, a primary one per RLINK.
std::string RvgSecurity(const RvgLive& live) {
  if (live.config.role != "primary") return LinkSecurity(live.config.peer_key, live.config.insecure);
  std::string weakest = "curve";
  for (const RlinkLive& rlink : live.rlinks) {
    std::string security = LinkSecurity(rlink.config.peer_key, rlink.config.insecure);
    if (security == "insecure" || (security == "unpaired" && weakest == "curve")) {
      weakest = security;
    }
  }
  return weakest;
}

}  // namespace

json NamedCountsJson(const std::vector<std::pair<const char*, uint64_t>>& counts) {
  json out = json::object();
  for (const auto& [name, count] : counts) out[name] = count;
  return out;
}

namespace {

// --- Rendering. The JSON may come from an rvgd of another version, so a
// missing or null field renders as "-" instead of throwing.

std::string Text(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_boolean()) return it->get<bool>() ? "yes" : "no";
  return it->dump();
}

uint64_t Number(const json& object, const char* key) { return JsonUint(object, key); }

std::string Size(const json& object, const char* key) { return FormatSize(Number(object, key)); }

bool Present(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && !it->is_null();
}

// Left-aligned columns two spaces apart; the last column is not padded so
// lines carry no trailing blanks.
std::string Columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = " ";
    for (size_t i = 0; i < row.size(); ++i) {
      line += " " + row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 1, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string HeadLine(const json& status) {
  std::string generation = Text(status, "generation");
  if (generation.size() > 8) generation = generation.substr(0, 8) + "...";
  std::string running = "stopped";
  if (status.value("running", false)) running = "running (pid " + Text(status, "pid") + ")";
  return "RVG " + Text(status, "rvg") + "  role " + Text(status, "role") + "  generation " +
         generation + "  " + running + "  consistent " + Text(status, "consistent") + "\n";
}

std::string ProgressLine(const json& status) {
  std::string line = "  last_seq " + Text(status, "last_seq") + "  applied_seq " +
                     Text(status, "applied_seq") + "  durability " + Text(status, "durability");
  if (Present(status, "mount")) line += "  mount " + Text(status, "mount");
  if (Present(status, "listen")) line += "  listen " + Text(status, "listen");
  return line + "\n";
}

std::string SrlLine(const json& status) {
  auto srl = status.find("srl");
  if (srl == status.end() || !srl->is_object()) return "";
  std::string line = "  SRL " + Text(*srl, "path") + "  " + Size(*srl, "size") + ", " +
                     Size(*srl, "used") + " used";
  if (Present(*srl, "used_percent")) line += " (" + Text(*srl, "used_percent") + "%)";
  if (srl->value("full", false)) line += "  FULL: writes wait until the secondaries catch up";
  return line + "\n";
}

// Loud when a link is not protected, silent when every link uses CURVE.
std::string SecurityLine(const json& status) {
  std::string security = Text(status, "security");
  if (security == "insecure") {
    return "  SECURITY  INSECURE: replication traffic is neither authenticated nor encrypted "
           "(--insecure); anyone who can reach the link can read or forge it\n";
  }
  if (security == "unpaired") {
    return "  SECURITY  UNPAIRED: a peer key is not pinned yet; rvgd will not start until "
           "rvgadm trust pins it\n";
  }
  return "";
}

// Only when something is wrong: the sticky failure of the engine or applier.
std::string HealthLine(const json& status) {
  auto health = status.find("health");
  if (health == status.end() || !health->is_string() || *health == "ok") return "";
  return "  HEALTH  FAILED: " + health->get<std::string>() + "\n";
}

std::string VolumeTable(const json& status) {
  std::vector<std::vector<std::string>> rows = {{"VOLUME", "SIZE", "PATH"}};
  auto volumes = status.find("volumes");
  if (volumes != status.end() && volumes->is_array()) {
    for (const json& volume : *volumes) {
      rows.push_back({Text(volume, "name"), Size(volume, "size"), Text(volume, "path")});
    }
  }
  return Columns(rows);
}

// "12 writes (3.0 MiB, 1.4 s)": how much and how old; the age only while
// rvgd runs.
std::string BehindText(const json& rlink) {
  std::string text = Text(rlink, "writes_behind") + " writes (" + Size(rlink, "bytes_behind");
  auto seconds = rlink.find("seconds_behind");
  if (seconds != rlink.end() && seconds->is_number()) {
    char age[32];
    std::snprintf(age, sizeof(age), ", %.1f s", seconds->get<double>());
    text += age;
  }
  return text + ")";
}

// The resync counters, once there is something to say.
std::string CountersLine(const json& rlink) {
  auto counters = rlink.find("counters");
  if (counters == rlink.end() || !counters->is_object()) return "";
  const uint64_t sent = Number(*counters, "resync_bytes_sent");
  const uint64_t identical = Number(*counters, "regions_identical");
  const uint64_t zero = Number(*counters, "regions_zero");
  const uint64_t verify = Number(*counters, "verify_bytes_sent");
  if (sent == 0 && identical == 0 && zero == 0 && verify == 0) return "";
  return "  COUNTERS " + Text(rlink, "name") + "  resync sent " + FormatSize(sent) +
         ", regions identical " + std::to_string(identical) + ", zero " + std::to_string(zero) +
         ", verify sent " + FormatSize(verify) + " (since rvgd started)\n";
}

std::string RlinkTable(const json& status) {
  auto rlinks = status.find("rlinks");
  bool none = rlinks == status.end() || !rlinks->is_array() || rlinks->empty();
  if (none) return Text(status, "role") == "primary" ? "  RLINKS (none)\n" : "";
  std::vector<std::vector<std::string>> rows = {
      {"RLINK", "ADDRESS", "STATE", "SYNC", "LINK", "LIMIT", "SENT", "NET-ACKED", "DATA-ACKED",
       "FROM", "BEHIND"}};
  std::string resync_lines;
  for (const json& rlink : *rlinks) {
    // SYNC: the configured mode, and what it is now when that differs
    // ("override (async)" while an override RLINK catches up).
    std::string sync = Text(rlink, "synchronous");
    auto now = rlink.find("synchronous_effective");
    if (sync != "off" && now != rlink.end() && now->is_string() && now->get<std::string>() == "async") {
      sync += " (async)";
    }
    const uint64_t limit = Number(rlink, "bandwidth_limit");
    rows.push_back({Text(rlink, "name"), Text(rlink, "address"), Text(rlink, "state"),
                    sync, Text(rlink, "security"), limit == 0 ? "-" : FormatSize(limit) + "/s",
                    Text(rlink, "sent_seq"), Text(rlink, "net_acked_seq"),
                    Text(rlink, "data_acked_seq"), Text(rlink, "sending_from"),
                    BehindText(rlink)});
    auto resync = rlink.find("resync");
    if (resync != rlink.end()) {
      std::optional<ProgressFigures> figures = ProgressFromJson(*resync);
      if (figures) resync_lines += "  RESYNC " + Text(rlink, "name") + "  " + ProgressText(*figures) + "\n";
    }
    resync_lines += CountersLine(rlink);
    auto protection = rlink.find("protection");
    if (protection != rlink.end() && protection->is_object() &&
        protection->value("latency", false)) {
      resync_lines += "  PROTECTION " + Text(rlink, "name") + "  latency: " +
                      Text(rlink, "writes_behind") + " writes behind, marks " +
                      Text(rlink, "latency_low_mark") + "/" + Text(rlink, "latency_high_mark") +
                      " (latencyprot=" + Text(rlink, "latencyprot") + ")\n";
    }
    auto error = rlink.find("last_error");
    if (error != rlink.end() && error->is_string() && !error->get<std::string>().empty()) {
      resync_lines += "  ERROR " + Text(rlink, "name") + "  " + error->get<std::string>() + "\n";
    }
  }
  return Columns(rows) + resync_lines;
}

// A secondary mid-resync that can go back: how much is kept, to which seq.
std::string UndoLine(const json& status) {
  auto undo = status.find("undo");
  if (undo == status.end() || !undo->is_object()) return "";
  return "  UNDO  " + Text(*undo, "regions") + " regions (" + Size(*undo, "bytes") +
         ") saved; rvgadm rollback (rvgd stopped) restores the consistent copy at seq " +
         Text(*undo, "seq") + "\n";
}

std::string FlagLine(const json& status) {
  std::string flags;
  auto it = status.find("flags");
  if (it != status.end() && it->is_object()) {
    for (const auto& [name, value] : it->items()) {
      if (!flags.empty()) flags += ", ";
      flags += name + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
  return "  FLAGS  " + (flags.empty() ? std::string("(none)") : flags) + "\n";
}

}  // namespace

json StatusJson(const RvgLive& live) {
  const RvgConfig& config = live.config;
  json srl = nullptr;
  if (!config.srl_path.empty()) {
    std::optional<double> percent;
    if (live.srl_capacity > 0) {
      percent = 100.0 * static_cast<double>(live.srl_used) / static_cast<double>(live.srl_capacity);
    }
    srl = {{"path", config.srl_path},
           {"size", config.srl_size},
           {"used", live.srl_used},
           {"used_percent", Rounded(percent, 10)}};
  }
  json flags = json::object();
  json flag_details = json::array();  // `rvgadm flags`: when and why
  for (const FlagEntry& flag : live.flags) {
    flags[flag.name] = flag.value;
    flag_details.push_back({{"name", flag.name},
                            {"value", flag.value},
                            {"set_at", flag.set_at},
                            {"reason", flag.reason}});
  }
  json rlinks = json::array();
  for (const RlinkLive& rlink : live.rlinks) rlinks.push_back(RlinkJson(rlink));
  json undo = nullptr;
  if (live.undo) {
    undo = {{"regions", live.undo->regions}, {"bytes", live.undo->bytes},
            {"seq", live.undo->base_seq}};
  }
  return {{"rvg", config.name},
          {"uuid", StringOrNull(config.uuid)},
          {"role", config.role},
          {"security", RvgSecurity(live)},
          {"primary_key", config.role == "primary" ? json(nullptr) : StringOrNull(config.peer_key)},
          {"primary_session", StringOrNull(live.primary_peer)},
          {"running", live.running},
          {"pid", live.running ? json(live.pid) : json(nullptr)},
          {"mount", StringOrNull(live.mount)},
          {"listen", StringOrNull(config.listen)},
          {"durability", config.durability},
          {"generation", StringOrNull(config.generation)},
          {"consistent", live.consistent},
          {"last_seq", live.last_seq},
          {"applied_seq", live.applied_seq},
          {"volumes", VolumesJson(config.volumes)},
          {"srl", srl},
          {"flags", flags}, {"flag_details", flag_details},
          {"undo", undo},
          {"rlinks", rlinks}};
}

std::string StatusTable(const json& status) {
  if (!status.is_object()) return "(no status)\n";
  return HeadLine(status) + SecurityLine(status) + HealthLine(status) + ProgressLine(status) + SrlLine(status) +
         VolumeTable(status) +
         RlinkTable(status) + UndoLine(status) + FlagLine(status);
}

}  // namespace rvg
