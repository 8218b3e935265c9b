#include "cli/common/json_fields.h"
#include "cli/common/metrics_text.h"

#include <cmath>
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
    if (!std::isfinite(value)) return;
    Metric& m = metrics_[name];
    if (m.type.empty()) {
      order_.push_back(name);
      m.type = type;
      m.help = help;
    }
    std::ostringstream line;
    line << name;
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
