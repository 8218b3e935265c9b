// rvgadm start and stop: bringing rvgd up for an RVG and down again.
//
// start returns once rvgd serves (it reports readiness over a pipe, see
// spawn.h). stop asks rvgd to shut down cleanly (unmount, sync, persist)
// and then waits for the process to be gone, so a following start or an
// edit of state.db never races the old daemon.
//
// As root in the home /var/lib/rvg on a system booted with systemd, both go
// through rvgd@RVG.service instead (systemd_unit.h), so systemd knows the
// daemon it is to supervise and restart.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "cli/rvgadm/arg_values.h"
#include "cli/rvgadm/command.h"
#include "cli/rvgadm/daemon_client.h"
#include "cli/rvgadm/output.h"
#include "cli/rvgadm/spawn.h"
#include "cli/rvgadm/state_access.h"
#include "cli/rvgadm/systemd_unit.h"

namespace rvg {

namespace {

constexpr int kStopReplyTimeoutMs = 120 * 1000;   // unmount + final syncs
constexpr auto kExitWait = std::chrono::seconds(60);
constexpr auto kExitPoll = std::chrono::milliseconds(50);


// The mount option a role needs: a primary serves its volumes at a
// mountpoint; a secondary serves none.
Result<std::string> MountFor(const RvgConfig& config, const ParsedArgs& args) {
  if (config.role == "primary") {
    // Without --mount: where it was last mounted (rvgd records it).
    if (!args.Has("--mount") && config.mountpoint.empty()) {
      return Status::Error("a primary needs --mount DIR: its volumes appear as files there");
    }
    return PrepareMountpoint(args.Has("--mount") ? args.Value("--mount") : config.mountpoint);
  }
  if (args.Has("--mount")) {
    return Status::Error("RVG " + config.name + " is a secondary here and serves no mount; drop --mount");
  }
  return std::string();
}

// Waits until rvgd is gone: its process when the pid is known, else its
// control socket no longer answering.
Status WaitForExit(const Home& home, const std::string& rvg, int pid) {
  WaitIndicator indicator("waiting for rvgd of RVG " + rvg + " to exit...");
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    bool alive = false;
    if (pid > 0) {
      alive = ProcessAlive(pid);
    } else {
      Result<DaemonState> state = ProbeDaemon(home, rvg);
      alive = state.ok() && state->running;
    }
    if (!alive) return Status::Ok();
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    if (elapsed >= kExitWait) break;
    indicator.Tick(elapsed.count());
    std::this_thread::sleep_for(kExitPoll);
  }
  std::string who = pid > 0 ? "rvgd (pid " + std::to_string(pid) + ")" : "rvgd";
  return Status::Error(who + " agreed to stop but has not exited after " +
                       std::to_string(kExitWait.count()) + " s; see " + home.LogPath(rvg));
}

// What the unit's command line (--home /var/lib/rvg $RVGD_OPTS RVG) cannot
// carry per start: "" when `args` fit it, else the one-line refusal.
std::string UnitRefusal(const std::string& rvg, const ParsedArgs& args) {
  std::string unit = UnitName(rvg);
  std::string outside = "or RVG_SYSTEMD=0 rvgadm start " + rvg + " to run rvgd outside the unit";
  if (args.Has("--foreground")) {
    return "--foreground cannot run rvgd under " + unit + " (systemctl start " + unit +
           " and journalctl -fu rvgd@" + rvg + " follow it there); use RVG_SYSTEMD=0 " +
           "rvgadm start " + rvg + " --foreground to run it in this terminal";
  }
  if (args.Has("--metrics")) {
    return "--metrics cannot be passed to " + unit + ": set RVGD_OPTS=\"--metrics " +
           args.Value("--metrics") + "\" in /etc/default/rvgd or with systemctl edit " + unit +
           ", " + outside;
  }
  return "";
}

// Starts rvgd through its unit. The unit's rvgd mounts where state.db
// records (rvgd records each start's mountpoint), so a --mount that differs
// is recorded here first: simpler than a drop-in per RVG, and a restart by
// systemd after a crash then mounts at the same place.
int StartThroughUnit(const Context& context, const RvgConfig& config, const std::string& mount) {
  const std::string& rvg = config.name;
  if (!mount.empty() && mount != config.mountpoint) {
    Result<std::unique_ptr<StateDb>> db = OpenExistingState(context.home, rvg);
    if (!db.ok()) return ReportError(db.status());
    Status status = (*db)->SetMountpoint(rvg, mount);
    if (!status.ok()) return ReportError(status.Annotate("recording mountpoint " + mount));
  }
  Status status = Systemctl("start", rvg);
  if (!status.ok()) return ReportError(status.Annotate("starting RVG " + rvg));
  return kExitOk;
}

}  // namespace

Result<std::string> PrepareMountpoint(const std::string& text) {
  std::string dir = AbsolutePath(text);
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return dir;
    return Status::Error("mountpoint " + dir + " is not a directory; pick a directory for --mount",
                         ENOTDIR);
  }
  // ENOTCONN: a dead FUSE mount left by a killed rvgd; rvgd detaches it.
  if (errno == ENOTCONN) return dir;
  if (::mkdir(dir.c_str(), 0755) != 0) {
    return Status::FromErrno(errno, "creating mountpoint " + dir);
  }
  return dir;
}

int RunStart(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  Result<RvgConfig> config = Status::Error("not loaded");
  {
    // Closed before forking: rvgd opens state.db itself.
    Result<std::unique_ptr<StateDb>> db = OpenExistingState(context.home, rvg);
    if (!db.ok()) return ReportError(db.status());
    config = LoadRvg(**db, context.home, rvg);
    if (!config.ok()) return ReportError(config.status());
  }
  Result<DaemonState> state = ProbeDaemon(context.home, rvg);
  if (!state.ok()) return ReportError(state.status());
  if (state->running) {
    return ReportError("RVG " + rvg + " is already running (rvgd pid " +
                       std::to_string(state->pid) + "); stop it first: rvgadm stop " + rvg);
  }
  Result<bool> unit = UseUnit(context.home);
  if (!unit.ok()) return ReportError(unit.status());
  if (*unit) {
    std::string refusal = UnitRefusal(rvg, args);
    if (!refusal.empty()) return ReportError(refusal);
  }
  Result<std::string> mount = MountFor(*config, args);
  if (!mount.ok()) return ReportError(mount.status());
  if (*unit) {
    int code = StartThroughUnit(context, *config, *mount);
    if (code != kExitOk) return code;
  } else {
    Result<std::string> rvgd = FindRvgd();
    if (!rvgd.ok()) return ReportError(rvgd.status());
    Status status = context.home.Prepare();
    if (!status.ok()) return ReportError(status);
    DaemonLaunch launch{*rvgd, context.home.dir(), rvg, *mount, args.Value("--metrics"),
                        context.home.LogPath(rvg)};
    if (args.Has("--foreground")) return ReportError(ExecDaemon(launch));
    status = LaunchDaemon(launch);
    if (!status.ok()) return ReportError(status.Annotate("starting RVG " + rvg));
  }
  if (mount->empty()) {
    PrintLine("RVG " + rvg + " started (secondary, listening on " + config->listen + ")");
  } else {
    PrintLine("RVG " + rvg + " started (primary, volumes mounted at " + *mount + ")");
  }
  return kExitOk;
}

// Through the unit, stop still asks rvgd over its control socket first
// rather than leaving it to `systemctl stop`: rvgd refuses a clean stop
// while a volume is in use and keeps serving, and rvgadm reports that,
// whereas systemd would SIGKILL it after TimeoutStopSec. After a clean stop
// rvgd exits 0, which Restart=on-failure leaves alone; `systemctl stop`
// then settles the unit (inactive, not failed) and cancels a restart
// pending after a crash, also when rvgd was not running.
int RunStop(const Context& context, const ParsedArgs& args) {
  const std::string& rvg = args.positional()[0];
  Result<DaemonState> state = ProbeDaemon(context.home, rvg);
  if (!state.ok()) return ReportError(state.status());
  Result<bool> unit = UseUnit(context.home);
  if (!unit.ok()) return ReportError(unit.status());
  bool running = state->running;
  if (!running) {
    // Say "no such RVG" rather than "not running" for a typo or wrong home.
    Result<std::unique_ptr<StateDb>> db = OpenExistingState(context.home, rvg);
    if (!db.ok()) return ReportError(db.status());
    Result<RvgConfig> config = LoadRvg(**db, context.home, rvg);
    if (!config.ok()) return ReportError(config.status());
  } else {
    int pid = state->pid;
    Result<nlohmann::json> reply =
        AskDaemon(context.home, rvg, {{"cmd", "stop"}}, kStopReplyTimeoutMs);
    if (!reply.ok()) return ReportError(reply.status().Annotate("stopping RVG " + rvg));
    Status status = WaitForExit(context.home, rvg, pid);
    if (!status.ok()) return ReportError(status);
  }
  if (*unit) {
    Status status = Systemctl("stop", rvg);
    if (!status.ok()) return ReportError(status.Annotate("stopping RVG " + rvg));
  }
  PrintLine(running ? "RVG " + rvg + " stopped" : "RVG " + rvg + " is not running");
  return kExitOk;
}

}  // namespace rvg
