// rvgd: the daemon for one RVG on one host.
//
//   rvgd [--home DIR] [--mount DIR] [--ready-fd N] [--metrics ADDR:PORT] RVG
//
// Runs in the foreground; `rvgadm start` is what puts it in the background.
// With --ready-fd it writes one line to that fd once it serves ("ok") or has
// failed to start ("error: WHY") and closes it, so rvgadm can return only
// when the mount is live or the secondary listens. It stops cleanly on
// `rvgadm stop` (control socket) or SIGTERM/SIGINT, and refuses to stop, and
// keeps serving, while a mounted volume is busy.
#include <fcntl.h>
#include <signal.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "cli/common/pid_file.h"
#include "cli/rvgd/daemon.h"
#include "cli/rvgd/journal_sink.h"
#include "cli/rvgd/metrics_server.h"
#include "cli/rvgd/role_change.h"
#include "cli/rvgd/service_notifier.h"
#include "net/control_channel.h"

namespace rvg {
namespace {

struct Args {
  std::string home;
  std::string mount;
  std::string rvg;
  int ready_fd = -1;
  std::string metrics;  // ADDR:PORT of the Prometheus endpoint, "" for none
};

const char kUsage[] =
    "usage: rvgd [--home DIR] [--mount DIR] [--ready-fd N] [--metrics ADDR:PORT] RVG";

bool ParseArgs(int argc, char** argv, Args* a, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) {
        *error = arg + " needs a value";
        return false;
      }
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--home") {
      if (!value(&a->home)) return false;
    } else if (arg == "--mount") {
      if (!value(&a->mount)) return false;
    } else if (arg == "--metrics") {
      if (!value(&a->metrics)) return false;
    } else if (arg == "--ready-fd") {
      if (!value(&v)) return false;
      char* end = nullptr;
      long fd = std::strtol(v.c_str(), &end, 10);
      if (*end != '\0' || fd < 0 || fd > INT_MAX) {
        *error = "--ready-fd takes a file descriptor number";
        return false;
      }
      a->ready_fd = static_cast<int>(fd);
    } else if (arg == "--foreground") {
      // Accepted for symmetry with rvgadm start; rvgd always runs in the foreground.
    } else if (!arg.empty() && arg[0] == '-') {
      *error = "unknown option " + arg;
      return false;
    } else if (a->rvg.empty()) {
      a->rvg = arg;
    } else {
      *error = "unexpected argument " + arg;
      return false;
    }
  }
  if (a->rvg.empty()) *error = "missing RVG name";
  return error->empty();
}

void SetUpLogging(const Home& home, const std::string& rvg, bool to_stderr) {
  std::vector<spdlog::sink_ptr> sinks;
  try {
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(home.LogPath(rvg)));
  } catch (const spdlog::spdlog_ex& e) {
    std::cerr << "rvgd: cannot open log " << home.LogPath(rvg) << ": " << e.what() << "\n";
    to_stderr = true;
  }
  // Under a unit stderr is the journal: each line gets its priority there,
  // and no time stamp (the journal keeps its own).
  spdlog::sink_ptr journal;
  if (to_stderr && StderrIsJournal()) {
    journal = std::make_shared<JournalStderrSink>();
    sinks.push_back(journal);
  } else if (to_stderr) {
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  }
  auto logger = std::make_shared<spdlog::logger>("rvgd", sinks.begin(), sinks.end());
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] [" + rvg + "] %v");
  if (journal) journal->set_pattern("[%l] [" + rvg + "] %v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void ReportReady(int fd, const Status& st) {
  if (fd < 0) return;
  std::string line = st.ok() ? "ok\n" : "error: " + st.message() + "\n";
  [[maybe_unused]] ssize_t n = write(fd, line.data(), line.size());
  close(fd);
}

std::string AbsoluteDir(const std::string& dir) {
  char resolved[PATH_MAX];
  if (realpath(dir.c_str(), resolved) != nullptr) return resolved;
  // A dead FUSE mount cannot be resolved; an absolute path is still usable.
  if (!dir.empty() && dir[0] == '/') return dir;
  char cwd[PATH_MAX];
  return getcwd(cwd, sizeof(cwd)) ? std::string(cwd) + "/" + dir : dir;
}

nlohmann::json ErrorReply(const Status& st) { return {{"ok", false}, {"error", st.message()}}; }

struct DrainRequest {
  std::string rlink;  // "" = every RLINK
  double timeout_s = 60;
};

// The fields of a drain request, checked: a peer's "timeout" of NaN, -1 or
// 1e300 would otherwise become an undefined conversion to milliseconds.
Result<DrainRequest> ParseDrainRequest(const nlohmann::json& req) {
  DrainRequest d;
  auto rlink = req.find("rlink");
  if (rlink != req.end() && !rlink->is_null()) {
    if (!rlink->is_string()) return Status::Error("drain: \"rlink\" must be a name", EINVAL);
    d.rlink = rlink->get<std::string>();
  }
  auto timeout = req.find("timeout");
  if (timeout != req.end() && !timeout->is_null()) {
    if (!timeout->is_number()) {
      return Status::Error("drain: \"timeout\" must be a number of seconds", EINVAL);
    }
    d.timeout_s = timeout->get<double>();
    Status st = CheckControlTimeout(d.timeout_s, "drain timeout");
    if (!st.ok()) return st;
  }
  return d;
}

// "rlink" requests: {"rlink": NAME, "action": ACTION} (Daemon::ControlRlink);
// the reply may carry a "note": the request had nothing to do.
Result<std::pair<std::string, std::string>> ParseRlinkRequest(const nlohmann::json& req) {
  auto rlink = req.find("rlink");
  auto action = req.find("action");
  if (rlink == req.end() || !rlink->is_string() || action == req.end() || !action->is_string()) {
    return Status::Error("rlink: \"rlink\" and \"action\" must be strings", EINVAL);
  }
  return std::make_pair(rlink->get<std::string>(), action->get<std::string>());
}

int Run(const Args& args) {
  Home home = Home::Resolve(args.home);
  Status st = home.Prepare();
  SetUpLogging(home, args.rvg, args.ready_fd < 0);
  auto fail = [&](const Status& s) {
    spdlog::error("{}", s.message());
    ReportReady(args.ready_fd, s);
    return 1;
  };
  if (!st.ok()) return fail(st);

  auto db = StateDb::Open(home.StateDbPath());
  if (!db.ok()) return fail(db.status());
  auto config = (*db)->GetRvg(args.rvg);
  if (!config.ok()) return fail(config.status());
  SharedStateDb shared(std::move(*db));

  PidFile pid_file;
  st = pid_file.Acquire(home.PidPath(args.rvg));
  if (!st.ok()) return fail(st);
  auto server = ControlServer::Bind(home.ControlEndpoint(args.rvg));
  if (!server.ok()) return fail(server.status());

  zmq::context_t zmq_context(1);
  ControlServer* control = server->get();
  // A primary that finds itself replaced asks for a step-down, which runs
  // here on the main thread between two Serve() calls.
  std::atomic<bool> step_down{false};
  // A secondary whose primary handed over (migrate) becomes primary there too.
  std::atomic<bool> handover{false};
  DaemonContext ctx{home, *config, "", &shared, &zmq_context, [&step_down, control] {
                      step_down = true;
                      control->Stop();
                    },
                    [&handover, control] {
                      handover = true;
                      control->Stop();
                    },
                    [control] { control->FinishDeferred(); }};
  if (config->role == "primary") {
    if (args.mount.empty() && config->mountpoint.empty()) {
      return fail(Status::Error("a primary needs --mount DIR"));
    }
    ctx.mount = AbsoluteDir(args.mount.empty() ? config->mountpoint : args.mount);
  } else if (!args.mount.empty()) {
    return fail(Status::Error("RVG " + args.rvg + " is a secondary here; it has nothing to mount"));
  }
  spdlog::info("rvgd {} starting as {} (pid {})", args.rvg, config->role, getpid());
  std::unique_ptr<Daemon> daemon = config->role == "primary" ? MakePrimaryDaemon(ctx)
                                                             : MakeSecondaryDaemon(ctx);
  st = daemon->Start();
  if (!st.ok()) return fail(st);
  std::unique_ptr<MetricsServer> metrics;
  if (!args.metrics.empty()) {
    auto started = MetricsServer::Start(args.metrics, home.ControlEndpoint(args.rvg));
    if (!started.ok()) {
      Status stopped = daemon->Stop();
      if (!stopped.ok()) spdlog::error("stopping after the failed start: {}", stopped.message());
      return fail(started.status());
    }
    metrics = std::move(*started);
  }
  if (!ctx.mount.empty()) {
    // Where a later start or takeover mounts when given no --mount.
    st = shared.Run([&](StateDb& db) { return db.SetMountpoint(args.rvg, ctx.mount); });
    if (!st.ok()) spdlog::warn("cannot record the mountpoint: {}", st.message());
  }

  // Signals are blocked in every thread (see main) and taken here.
  std::atomic<bool> signalled{false};
  std::atomic<bool> exiting{false};
  std::thread signal_thread([&] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
      int sig = 0;
      sigwait(&set, &sig);
      if (exiting) return;  // the main thread's wake-up at exit
      spdlog::info("signal {} received; stopping", sig);
      signalled = true;
      control->Stop();
    }
  });

  ReportReady(args.ready_fd, Status::Ok());
  // systemd (rvgd@.service, Type=notify): READY=1 now, STATUS= lines and
  // the watchdog from here on, STOPPING=1 when a clean stop begins.
  ServiceNotifier notifier(home.ControlEndpoint(args.rvg));
  notifier.Ready();
  spdlog::info("serving");
  bool stopped = false;
  bool failed = false;  // a role change left no role running
  // A primary that was replaced, or resolves a split brain, becomes a
  // secondary; when that fails after the primary role stopped, rvgd ends
  // (state.db says what it is, and rvgadm start brings it back).
  auto step_down_now = [&](const char* what) {
    bool fatal = false;
    Status s = StepDownRole(&ctx, &daemon, &fatal);
    if (!s.ok() && fatal) {
      spdlog::error("{} failed after the primary role stopped: {}; exiting", what, s.message());
      failed = true;
      stopped = true;
      control->Stop();
    }
    return s;
  };
  while (!stopped) {
    control->Serve([&](const nlohmann::json& req) -> ControlServer::Answer {
      std::string cmd = req.value("cmd", "");
      if (cmd == "ping") return nlohmann::json{{"ok", true}, {"pid", getpid()}, {"rvg", args.rvg}};
      if (cmd == "status") return nlohmann::json{{"ok", true}, {"status", daemon->StatusJson()}};
      if (cmd == "drain") {
        Result<DrainRequest> drain = ParseDrainRequest(req);
        if (!drain.ok()) return ErrorReply(drain.status());
        // Off the serving thread: status, stop and signals are answered
        // while it waits; a stop ends it (Daemon::Drain).
        spdlog::info("drain of {} started (timeout {}s)",
                     drain->rlink.empty() ? "every RLINK" : "RLINK " + drain->rlink,
                     drain->timeout_s);
        return ControlServer::Answer::Later([&daemon, d = *drain] {
          Status st = daemon->Drain(d.rlink, d.timeout_s);
          return st.ok() ? nlohmann::json{{"ok", true}} : ErrorReply(st);
        });
      }
      if (cmd == "rlink") {
        Result<std::pair<std::string, std::string>> r = ParseRlinkRequest(req);
        if (!r.ok()) return ErrorReply(r.status());
        Result<std::string> note = daemon->ControlRlink(r->first, r->second);
        if (!note.ok()) return ErrorReply(note.status());
        nlohmann::json reply = {{"ok", true}};
        if (!note->empty()) reply["note"] = *note;
        return reply;
      }
      if (cmd == "takeover" || cmd == "migrate") {
        bool fatal = false;
        // The serving thread is taken for up to the migrate's timeout.
        ServiceNotifier::BusyScope busy(&notifier, cmd);
        Result<nlohmann::json> reply = cmd == "takeover"
                                           ? TakeOverRole(req, &ctx, &daemon, &fatal)
                                           : MigrateRole(req, &ctx, &daemon, &fatal);
        if (fatal) {
          spdlog::error("{} failed after the old role stopped: {}; exiting", cmd,
                        reply.status().message());
          failed = true;
          stopped = true;
          control->Stop();
        }
        return reply.ok() ? *reply : ErrorReply(reply.status());
      }
      if (cmd == "resolve") {
        Result<std::string> note = daemon->PrepareResolve();
        if (!note.ok()) return ErrorReply(note.status());
        Status s = step_down_now("resolve");
        if (!s.ok() && !stopped) daemon->AbandonResolve();
        if (!s.ok()) return ErrorReply(s.Annotate("resolve"));
        return nlohmann::json{{"ok", true}, {"note", *note}};
      }
      if (cmd == "force-online") {
        Result<std::string> note = daemon->ForceOnline();
        if (!note.ok()) return ErrorReply(note.status());
        return nlohmann::json{{"ok", true}, {"note", *note}};
      }
      if (cmd == "stop") {
        Status s = daemon->Stop();
        if (!s.ok()) return ErrorReply(s);
        notifier.Stopping();
        stopped = true;
        control->Stop();
        return nlohmann::json{{"ok", true}};
      }
      return ErrorReply(Status::Error("unknown control command \"" + cmd + "\""));
    });
    if (!stopped && handover.exchange(false)) {
      bool fatal = false;
      Status s = TakeHandoverRole(&ctx, &daemon, &fatal);
      if (!s.ok()) {
        spdlog::error("migrate: taking over from the primary failed: {}{}", s.message(),
                      fatal ? "; exiting" : "");
        if (fatal) {
          failed = true;
          stopped = true;
        }
      }
    }
    if (!stopped && step_down.exchange(false)) {
      Status s = step_down_now("step-down");
      if (!s.ok() && !stopped) {
        spdlog::error("cannot step down yet: {}", s.message());
      }
    }
    if (!stopped && signalled) {
      Status s = daemon->Stop();
      if (s.ok()) {
        notifier.Stopping();
        stopped = true;
      } else {
        spdlog::error("cannot stop: {}; still serving", s.message());
        signalled = false;
      }
    }
  }
  // The daemon has stopped, which ended every drain: answer them before
  // the daemon they use goes away.
  control->FinishDeferred();
  if (!failed) spdlog::info("stopped cleanly");
  metrics.reset();  // before the daemon its scrapes ask about
  daemon.reset();
  exiting = true;
  pthread_kill(signal_thread.native_handle(), SIGHUP);
  signal_thread.join();
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace rvg

int main(int argc, char** argv) {
  rvg::Args args;
  std::string error;
  if (!rvg::ParseArgs(argc, argv, &args, &error)) {
    std::cerr << "rvgd: " << error << "\n" << rvg::kUsage << "\n";
    return 2;
  }
  // Block the stop signals before any thread exists so that only the
  // signal thread ever takes them; SIGPIPE is never wanted.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return rvg::Run(args);
}
