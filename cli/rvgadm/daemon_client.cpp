#include "cli/rvgadm/daemon_client.h"

#include <signal.h>

#include <cerrno>
#include <fstream>

#include "cli/common/pid_file.h"
#include "cli/rvgadm/output.h"
#include "net/control_channel.h"

namespace rvg {

namespace {

// The command name and state fields of /proc/PID/stat ("" if unreadable).
bool ReadProcStat(int pid, std::string* name, char* state) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto open = line.find('(');
  auto close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= line.size()) {
    return false;
  }
  *name = line.substr(open + 1, close - open - 1);
  *state = line[close + 2];
  return true;
}

// A pid file left by a crashed rvgd may name a recycled pid: only a live
// process called rvgd counts.
bool IsLiveRvgd(int pid) {
  std::string name;
  char state = 0;
  return ProcessAlive(pid) && ReadProcStat(pid, &name, &state) && name.rfind("rvgd", 0) == 0;
}

}  // namespace

bool ProcessAlive(int pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0) return errno == EPERM;
  std::string name;
  char state = 0;
  if (!ReadProcStat(pid, &name, &state)) return false;
  return state != 'Z';
}

Result<DaemonState> ProbeDaemon(const Home& home, const std::string& rvg) {
  Result<nlohmann::json> reply =
      ControlCall(home.ControlEndpoint(rvg), {{"cmd", "ping"}}, kPingTimeoutMs);
  DaemonState state;
  if (!reply.ok()) {
    if (reply.status().code() != ENOTCONN) return reply.status();
    int pid = ReadPidFile(home.PidPath(rvg));
    if (IsLiveRvgd(pid)) {
      state.running = true;
      state.pid = pid;
    }
    return state;
  }
  state.running = true;
  state.answering = true;
  auto pid = reply->find("pid");
  if (pid != reply->end() && pid->is_number_integer()) state.pid = pid->get<int>();
  if (state.pid <= 0) state.pid = ReadPidFile(home.PidPath(rvg));
  return state;
}

Status RequireStopped(const Home& home, const std::string& rvg) {
  Result<DaemonState> state = ProbeDaemon(home, rvg);
  if (!state.ok()) return state.status();
  if (!state->running) return Status::Ok();
  return Status::Error("rvgd is running for RVG " + rvg + "; stop it first: rvgadm stop " + rvg,
                       EBUSY);
}

void NoteIfRunning(const Home& home, const std::string& rvg) {
  Result<DaemonState> state = ProbeDaemon(home, rvg);
  if (state.ok() && state->running) {
    PrintNote("rvgd is running for RVG " + rvg +
              "; the change takes effect at its next start (rvgadm stop " + rvg +
              ", then rvgadm start " + rvg + ")");
  }
}

Status RequireRunning(const Home& home, const std::string& rvg) {
  Result<DaemonState> state = ProbeDaemon(home, rvg);
  if (!state.ok()) return state.status();
  if (state->running) return Status::Ok();
  return Status::Error("rvgd is not running for RVG " + rvg + "; start it: rvgadm start " + rvg,
                       ENOTCONN);
}

Result<nlohmann::json> AskDaemon(const Home& home, const std::string& rvg,
                                 const nlohmann::json& request, int timeout_ms) {
  Result<nlohmann::json> reply = ControlCall(home.ControlEndpoint(rvg), request, timeout_ms);
  if (!reply.ok()) return reply;
  if (reply->value("ok", false)) return reply;
  std::string message = "rvgd for RVG " + rvg + " refused '" +
                        request.value("cmd", std::string("?")) + "' without saying why";
  auto error = reply->find("error");
  if (error != reply->end() && error->is_string()) message = error->get<std::string>();
  return Status::Error(message);
}

}  // namespace rvg
