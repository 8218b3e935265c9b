#include "cli/common/json_fields.h"
#include "cli/common/metrics_text.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

namespace rvg {

namespace {

// Label values escape backslash, double quote and newline.
std::string Escaped(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out;
}

using Labels = std::vector<std::pair<std::string, std::string>>;

// Gathers samples per metric so that each HELP/TYPE header comes once,
// before all of its samples, as the format requires.
class Exposition {
 public:
  void Add(const std::string& name, const std::string& type, const std::string& help,
           const Labels& labels, double value) {
    AddSample(name, name, type, help, labels, value);
  }

  // A sample named `sample` of the family `name` (a histogram's _bucket,
  // _sum and _count samples belong to one family).
  void AddSample(const std::string& name, const std::string& sample, const std::string& type,
                 const std::string& help, const Labels& labels, double value) {
    if (!std::isfinite(value)) return;
    Metric& m = metrics_[name];
    if (m.type.empty()) {
      order_.push_back(name);
      m.type = type;
      m.help = help;
    }
    std::ostringstream line;
    line << sample;
    if (!labels.empty()) {
      line << '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        line << (i ? "," : "") << labels[i].first << "=\"" << Escaped(labels[i].second) << '"';
      }
      line << '}';
    }
    line.precision(17);
    line << ' ' << value << '\n';
    m.samples += line.str();
  }

  // Adds `key` of `object` when it holds a number.
  void AddField(const std::string& name, const std::string& type, const std::string& help,
                const Labels& labels, const nlohmann::json& object, const char* key) {
    auto it = object.find(key);
    if (it != object.end() && it->is_number()) Add(name, type, help, labels, it->get<double>());
  }

  std::string Text() const {
    std::string out;
    for (const std::string& name : order_) {
      const Metric& m = metrics_.at(name);
      out += "# HELP " + name + " " + m.help + "\n# TYPE " + name + " " + m.type + "\n" + m.samples;
    }
    return out;
  }

 private:
  struct Metric {
    std::string type, help, samples;
  };
  std::vector<std::string> order_;
  std::map<std::string, Metric> metrics_;
};

// A histogram from its status object {le, buckets, sum_s, count}
// (StatusJson): one _bucket sample per bound and +Inf, cumulative as
// given, then _sum and _count. A malformed object (another rvgd version)
// is left out whole rather than exported half.
void AddHistogram(Exposition& e, const std::string& name, const std::string& help,
                  const Labels& labels, const nlohmann::json& h) {
  if (!h.is_object()) return;
  const nlohmann::json le = h.value("le", nlohmann::json());
  const nlohmann::json buckets = h.value("buckets", nlohmann::json());
  if (!le.is_array() || !buckets.is_array() || buckets.size() != le.size() + 1) return;
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (!buckets[i].is_number() || (i < le.size() && !le[i].is_number())) return;
  }
  for (size_t i = 0; i < buckets.size(); ++i) {
    Labels with = labels;
    char bound[32] = "+Inf";
    if (i < le.size()) std::snprintf(bound, sizeof(bound), "%g", le[i].get<double>());
    with.emplace_back("le", bound);
    e.AddSample(name, name + "_bucket", "histogram", help, with, buckets[i].get<double>());
  }
  const std::pair<const char*, const char*> parts[] = {{"_sum", "sum_s"}, {"_count", "count"}};
  for (const auto& [suffix, key] : parts) {
    auto it = h.find(key);
    if (it != h.end() && it->is_number()) {
      e.AddSample(name, name + suffix, "histogram", help, labels, it->get<double>());
    }
  }
}

// One counter per key of a {name: count} object, the key as label `label`.
void AddNamedCounts(Exposition& e, const std::string& name, const std::string& help,
                    const Labels& labels, const char* label, const nlohmann::json& counts) {
  if (!counts.is_object()) return;
  for (const auto& [key, value] : counts.items()) {
    if (!value.is_number()) continue;
    Labels with = labels;
    with.emplace_back(label, key);
    e.Add(name, "counter", help, with, value.get<double>());
  }
}

const char* const kRlinkStates[] = {"connected", "disconnected", "paused",
                                    "stale",     "dcm",          "resyncing",
                                    "failed",    "split-brain",  "waiting for previous source"};

void AddRlink(Exposition& e, const Labels& rvg, const nlohmann::json& r) {
  Labels l = rvg;
  l.emplace_back("rlink", JsonString(r, "name"));
  const std::string state = JsonString(r, "state");
  for (const char* s : kRlinkStates) {
    Labels with = l;
    with.emplace_back("state", s);
    e.Add("rvg_rlink_state", "gauge", "1 for the RLINK's current state, 0 for the others", with,
          state == s ? 1 : 0);
  }
  e.AddField("rvg_rlink_sent_seq", "gauge", "Newest seq sent to the secondary", l, r, "sent_seq");
  e.AddField("rvg_rlink_net_acked_seq", "gauge", "Newest seq in the secondary's memory", l, r,
             "net_acked_seq");
  e.AddField("rvg_rlink_data_acked_seq", "gauge", "Newest seq durable on the secondary", l, r,
             "data_acked_seq");
  e.AddField("rvg_rlink_behind_writes", "gauge", "Writes not yet data-acked", l, r,
             "writes_behind");
  e.AddField("rvg_rlink_behind_bytes", "gauge", "Data bytes not yet data-acked", l, r,
             "bytes_behind");
  e.AddField("rvg_rlink_behind_seconds", "gauge", "Age of the oldest write not yet data-acked", l,
             r, "seconds_behind");
  e.AddField("rvg_rlink_srl_used_bytes", "gauge", "SRL space this RLINK still needs", l, r,
             "srl_used_bytes");
  e.AddField("rvg_rlink_dcm_dirty_bytes", "gauge", "Bytes its DCM bitmap still owes", l, r,
             "dcm_dirty_bytes");
  e.AddField("rvg_rlink_bandwidth_limit_bytes_per_second", "gauge",
             "Cap on its traffic, 0 for none", l, r, "bandwidth_limit");
  const nlohmann::json resync = r.value("resync", nlohmann::json());
  if (resync.is_object()) {
    e.AddField("rvg_rlink_resync_done_bytes", "gauge", "Bytes of the running resync acknowledged",
               l, resync, "done");
    e.AddField("rvg_rlink_resync_total_bytes", "gauge", "Bytes the running resync owes in all",
               l, resync, "total");
  }
  const nlohmann::json counters = r.value("counters", nlohmann::json());
  if (counters.is_object()) {
    e.AddField("rvg_rlink_resync_sent_bytes_total", "counter",
               "Data bytes of resync regions sent since rvgd started", l, counters,
               "resync_bytes_sent");
    e.AddField("rvg_rlink_verify_sent_bytes_total", "counter",
               "Bytes of verify comparisons sent since rvgd started", l, counters,
               "verify_bytes_sent");
    for (const char* reason : {"identical", "zero"}) {
      Labels with = l;
      with.emplace_back("reason", reason);
      e.AddField("rvg_rlink_regions_skipped_total", "counter",
                 "Resync regions not sent since rvgd started", with, counters,
                 (std::string("regions_") + reason).c_str());
    }
    AddNamedCounts(e, "rvg_rlink_rejected_messages_total",
                   "Messages from the secondary dropped since rvgd started, by reason", l,
                   "reason", counters.value("rejected_by_reason", nlohmann::json()));
    AddNamedCounts(e, "rvg_rlink_errors_total",
                   "Errors on the RLINK since rvgd started, by kind", l, "kind",
                   counters.value("errors", nlohmann::json()));
  }
  const nlohmann::json latency = r.value("latency", nlohmann::json());
  if (latency.is_object()) {
    AddHistogram(e, "rvg_rlink_net_ack_seconds",
                 "Time from sending a write to the secondary's network ack (in its memory)", l,
                 latency.value("net_ack", nlohmann::json()));
    AddHistogram(e, "rvg_rlink_data_ack_seconds",
                 "Time from sending a write to the secondary's data ack (durable there)", l,
                 latency.value("data_ack", nlohmann::json()));
  }
}

}  // namespace

std::string MetricsText(const nlohmann::json& status) {
  Exposition e;
  const Labels rvg = {{"rvg", JsonString(status, "rvg")}};
  Labels info = rvg;
  info.emplace_back("role", JsonString(status, "role"));
  info.emplace_back("generation", JsonString(status, "generation"));
  e.Add("rvg_info", "gauge", "The RVG's role and generation on this host", info, 1);
  e.Add("rvg_up", "gauge", "1 while rvgd runs for the RVG", rvg,
        JsonBool(status, "running", false) ? 1 : 0);
  e.Add("rvg_consistent", "gauge", "1 when the images are a consistent copy", rvg,
        JsonBool(status, "consistent", true) ? 1 : 0);
  e.AddField("rvg_last_seq", "gauge", "Newest seq written (writes since the RVG began)", rvg,
             status, "last_seq");
  e.AddField("rvg_applied_seq", "gauge", "Newest seq applied to the images", rvg, status,
             "applied_seq");
  const nlohmann::json srl = status.value("srl", nlohmann::json());
  if (srl.is_object()) {
    e.AddField("rvg_srl_used_bytes", "gauge", "Bytes of the SRL in use", rvg, srl, "used");
    e.AddField("rvg_srl_size_bytes", "gauge", "Size of the SRL file", rvg, srl, "size");
  }
  // A secondary's receiver: what it refused.
  AddNamedCounts(e, "rvg_rejected_messages_total",
                 "Messages from primaries dropped since rvgd started, by reason", rvg, "reason",
                 status.value("rejected_by_reason", nlohmann::json()));
  e.AddField("rvg_rejected_connections_total", "counter",
             "Connections refused in the handshake since rvgd started", rvg, status,
             "rejected_connections");
  const nlohmann::json flags = status.value("flags", nlohmann::json());
  if (flags.is_object()) {
    for (const auto& [name, value] : flags.items()) {
      Labels l = rvg;
      l.emplace_back("flag", name);
      e.Add("rvg_flag", "gauge", "1 for every failover flag set (rvgadm flags)", l, 1);
    }
  }
  const nlohmann::json rlinks = status.value("rlinks", nlohmann::json());
  if (rlinks.is_array()) {
    for (const nlohmann::json& r : rlinks) {
      if (r.is_object()) AddRlink(e, rvg, r);
    }
  }
  return e.Text();
}

}  // namespace rvg
