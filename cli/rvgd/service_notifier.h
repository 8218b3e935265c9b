// ServiceNotifier: rvgd's side of systemd's notification protocol
// (sd_notify(3)), for the rvgd@.service unit (Type=notify). It does nothing
// unless systemd — or a test standing in for it — set NOTIFY_SOCKET.
//
//   Ready()     READY=1, once rvgd serves (the mount is live, or the
//               secondary listens), with the first STATUS= line;
//   Stopping()  STOPPING=1, when a clean stop begins.
//
// In between, a thread asks rvgd's own control socket for its status
// every few seconds and sends a one-line summary as STATUS= when it
// changed ("primary, 2 RLINKs: lon connected, ny resyncing 37 %"), so
// `systemctl status rvgd@RVG` shows what the RVG is doing. With the
// unit's WatchdogSec (WATCHDOG_USEC in the environment) the same thread
// sends WATCHDOG=1 after each status answered in time, at least twice a
// period: a main loop that stops answering is not vouched for, and systemd
// restarts rvgd — except while the main thread says it is busy with a
// long command on purpose (BusyScope: a migrate waits for its drain and
// handover up to its --timeout). The status goes
// through the control socket, not the daemon object, because only the
// main thread may touch the daemon (its role changes replace it).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace rvg {

class ServiceNotifier {
 public:
  // `control_endpoint`: rvgd's control socket.
  explicit ServiceNotifier(std::string control_endpoint);
  ~ServiceNotifier();  // stops the thread
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  bool active() const { return active_; }
  void Ready();
  // After a clean stop succeeded (a refused one keeps rvgd serving, and
  // STOPPING=1 would start systemd's stop timeout).
  void Stopping();

  // The main thread runs a long command (`what`) while it lives: the
  // watchdog is fed without status answers, and STATUS= says so.
  class BusyScope {
   public:
    BusyScope(ServiceNotifier* notifier, const std::string& what);
    ~BusyScope();
    BusyScope(const BusyScope&) = delete;
    BusyScope& operator=(const BusyScope&) = delete;

   private:
    ServiceNotifier* const notifier_;
  };

 private:
  void Run();
  void Send(const std::string& state);

  const std::string endpoint_;
  bool active_ = false;
  std::chrono::microseconds watchdog_{0};  // 0: no watchdog
  std::chrono::milliseconds period_{5000};
  std::string last_status_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // under mu_
  std::string busy_;   // under mu_: the long command under way, "" for none
  std::thread thread_;
};

// The STATUS= line for a `status` object of rvgd (StatusJson).
std::string ServiceStatusLine(const nlohmann::json& status);

}  // namespace rvg
