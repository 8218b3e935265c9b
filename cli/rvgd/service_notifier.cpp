#include "cli/common/json_fields.h"
#include "cli/rvgd/service_notifier.h"

#include <systemd/sd-daemon.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "cli/rvgd/own_status.h"

namespace rvg {

namespace {

constexpr std::chrono::milliseconds kStatusPeriod{5000};
constexpr int kStatusTimeoutMs = 2000;

}  // namespace

std::string ServiceStatusLine(const nlohmann::json& status) {
  std::string line = JsonString(status, "role");
  if (!JsonBool(status, "consistent", true)) line += " (inconsistent)";
  const nlohmann::json flags = status.value("flags", nlohmann::json::object());
  for (const char* flag : {"data_corrupt", "split_brain", "replaced_by", "failback"}) {
    if (flags.is_object() && flags.contains(flag)) line += ", flag " + std::string(flag);
  }
  const nlohmann::json rlinks = status.value("rlinks", nlohmann::json::array());
  if (!rlinks.is_array() || rlinks.empty()) {
    if (line.rfind("secondary", 0) == 0) {
      line += ", applied seq " + std::to_string(JsonUint(status, "applied_seq"));
    }
    return line;
  }
  line += ", " + std::to_string(rlinks.size()) + (rlinks.size() == 1 ? " RLINK:" : " RLINKs:");
  for (size_t i = 0; i < rlinks.size(); ++i) {
    const nlohmann::json& r = rlinks[i];
    line += (i == 0 ? " " : ", ") + JsonString(r, "name") + " " +
            JsonString(r, "state");
    const nlohmann::json resync = r.value("resync", nlohmann::json());
    if (resync.is_object() && JsonUint(resync, "total") > 0) {
      const auto done = JsonUint(resync, "done");
      const auto total = JsonUint(resync, "total");
      line += " " + std::to_string(std::min<uint64_t>(100, done * 100 / total)) + " %";
    }
  }
  return line;
}

ServiceNotifier::ServiceNotifier(std::string control_endpoint)
    : endpoint_(std::move(control_endpoint)) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  active_ = socket != nullptr && *socket != '\0';
  if (!active_) return;
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_ = std::chrono::microseconds(usec);
    period_ = std::min(kStatusPeriod, std::chrono::duration_cast<std::chrono::milliseconds>(
                                          watchdog_ / 3));
    period_ = std::max(period_, std::chrono::milliseconds(1));
    spdlog::info("systemd watchdog: every {} ms while the control socket answers",
                 period_.count());
  }
}

ServiceNotifier::~ServiceNotifier() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ServiceNotifier::Send(const std::string& state) {
  const int rc = sd_notify(0, state.c_str());
  if (rc < 0) spdlog::warn("sd_notify: {}", std::strerror(-rc));
}

void ServiceNotifier::Ready() {
  if (!active_ || thread_.joinable()) return;
  Send("READY=1\nSTATUS=serving");
  thread_ = std::thread([this] { Run(); });
}

void ServiceNotifier::Stopping() {
  if (active_) Send("STOPPING=1\nSTATUS=stopping");
}

ServiceNotifier::BusyScope::BusyScope(ServiceNotifier* notifier, const std::string& what)
    : notifier_(notifier) {
  std::lock_guard<std::mutex> lock(notifier_->mu_);
  notifier_->busy_ = what;
}

ServiceNotifier::BusyScope::~BusyScope() {
  std::lock_guard<std::mutex> lock(notifier_->mu_);
  notifier_->busy_.clear();
}

void ServiceNotifier::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    const std::string busy = busy_;
    lock.unlock();
    std::string line;
    bool alive = !busy.empty();
    if (busy.empty()) {
      Result<nlohmann::json> status = AskOwnStatus(endpoint_, kStatusTimeoutMs);
      if (status.ok()) {
        try {
          line = ServiceStatusLine(*status);
        } catch (const std::exception& e) {  // a status it cannot read must not end rvgd
          line = std::string("status unreadable: ") + e.what();
        }
        alive = true;
      }
    } else {
      line = busy + " under way";
    }
    std::string message;
    if (!line.empty() && line != last_status_) message = "STATUS=" + line;
    if (!line.empty()) last_status_ = line;
    if (alive && watchdog_.count() > 0) {
      message += (message.empty() ? "" : "\n") + std::string("WATCHDOG=1");
    }
    if (!message.empty()) Send(message);
    lock.lock();
    cv_.wait_for(lock, period_, [this] { return stop_; });
  }
}

}  // namespace rvg
