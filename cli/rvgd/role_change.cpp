#include "cli/rvgd/role_change.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>

#include "net/control_channel.h"  // CheckControlTimeout

namespace rvg {

namespace {

// The old role has stopped: it lets go of its locked images and SRL, the
// change is recorded, and the new role starts (mounting at `mount` when it
// is the primary). From the first step on a failure leaves no role
// running: *fatal stays set.
Status SwitchRole(const RoleChange& change, const std::string& mount, DaemonContext* ctx,
                  std::unique_ptr<Daemon>* daemon, bool* fatal) {
  if (ctx->finish_requests) ctx->finish_requests();
  daemon->reset();
  *fatal = true;
  const std::string& rvg = ctx->config.name;
  Status st = ctx->db->Run([&](StateDb& db) {
    Status s = db.ChangeRole(rvg, change);
    if (s.ok() && !mount.empty()) s = db.SetMountpoint(rvg, mount);
    return s;
  });
  if (!st.ok()) {
    return st.Annotate("recording the role change in state.db (still " + ctx->config.role + ")");
  }
  Result<RvgConfig> config = ctx->db->Run([&](StateDb& db) { return db.GetRvg(rvg); });
  if (!config.ok()) return config.status();
  ctx->config = *config;
  ctx->mount = change.role == "primary" ? mount : std::string();
  *daemon = change.role == "primary" ? MakePrimaryDaemon(*ctx) : MakeSecondaryDaemon(*ctx);
  st = (*daemon)->Start();
  if (!st.ok()) {
    return st.Annotate("the role change to " + change.role + " is recorded, but the role did "
                       "not start (rvgadm start " + rvg + " tries again)");
  }
  *fatal = false;
  return Status::Ok();
}

// Checked like takeover's: a mountpoint given must be an absolute path.
bool MountFieldOk(const nlohmann::json& request) {
  auto mount = request.find("mount");
  return mount == request.end() || (mount->is_string() && !mount->get<std::string>().empty() &&
                                    mount->get<std::string>()[0] == '/');
}

}  // namespace

Status StepDownRole(DaemonContext* ctx, std::unique_ptr<Daemon>* daemon, bool* fatal) {
  *fatal = false;
  std::string note;
  Result<RoleChange> change = (*daemon)->StepDown(&note);
  if (!change.ok()) {
    *fatal = !(*daemon)->serving();
    return change.status();
  }
  Status st = SwitchRole(*change, "", ctx, daemon, fatal);
  if (st.ok()) spdlog::warn("RVG {} is a secondary here now, awaiting its fast failback",
                            ctx->config.name);
  return st;
}

Result<nlohmann::json> TakeOverRole(const nlohmann::json& request, DaemonContext* ctx,
                                    std::unique_ptr<Daemon>* daemon, bool* fatal) {
  *fatal = false;
  auto force = request.find("force");
  auto mount = request.find("mount");
  if ((force != request.end() && !force->is_boolean()) || !MountFieldOk(request)) {
    return Status::Error("takeover: \"force\" must be a boolean and \"mount\" an absolute path",
                         EINVAL);
  }
  std::string dir = mount != request.end() ? mount->get<std::string>() : ctx->config.mountpoint;
  if (ctx->config.role != "secondary") {
    return Status::Error("RVG " + ctx->config.name + " is the primary on this host already");
  }
  if (dir.empty()) {
    return Status::Error("takeover needs --mount DIR: no mountpoint is recorded for RVG " +
                         ctx->config.name + " on this host");
  }
  // Checked before anything changes: the mount is the last step.
  struct stat st_dir;
  if (::stat(dir.c_str(), &st_dir) != 0 ? errno != ENOTCONN : !S_ISDIR(st_dir.st_mode)) {
    return Status::Error("takeover: mountpoint " + dir + " is not a directory (rvgadm takeover "
                         "--mount DIR creates it)", ENOTDIR);
  }
  std::string note;
  Result<RoleChange> change =
      (*daemon)->Takeover(force != request.end() && force->get<bool>(), &note);
  if (!change.ok()) {
    *fatal = !(*daemon)->serving();
    return change.status();
  }
  Status st = SwitchRole(*change, dir, ctx, daemon, fatal);
  if (!st.ok()) return st;
  spdlog::info("takeover: RVG {} is primary here from now on, generation {} from seq {}",
               ctx->config.name, change->generation->uuid, change->generation->start_seq);
  *fatal = false;
  nlohmann::json reply = {{"ok", true},
                          {"generation", change->generation->uuid},
                          {"start_seq", change->generation->start_seq},
                          {"mount", dir}};
  if (!note.empty()) reply["note"] = note;
  return reply;
}

Result<nlohmann::json> MigrateRole(const nlohmann::json& request, DaemonContext* ctx,
                                   std::unique_ptr<Daemon>* daemon, bool* fatal) {
  *fatal = false;
  auto rlink = request.find("rlink");
  auto timeout = request.find("timeout");
  if (rlink == request.end() || !rlink->is_string() || !MountFieldOk(request) ||
      (timeout != request.end() && !timeout->is_number())) {
    return Status::Error("migrate: \"rlink\" must be a name, \"mount\" an absolute path and "
                         "\"timeout\" a number of seconds", EINVAL);
  }
  const double timeout_s = timeout != request.end() ? timeout->get<double>() : 60.0;
  Status st = CheckControlTimeout(timeout_s, "migrate timeout");
  if (!st.ok()) return st;
  const std::string sec = rlink->get<std::string>();
  Result<MigrateOutcome> outcome =
      (*daemon)->Migrate(sec, request.value("mount", std::string()), timeout_s);
  if (!outcome.ok()) {
    spdlog::warn("migrate to {} refused: {}", sec, outcome.status().message());
    if ((*daemon)->serving()) return outcome.status();
    // The volumes were unmounted for the attempt: the primary role starts
    // again as it was (nothing was handed over).
    spdlog::warn("migrate: the primary role starts again");
    RoleChange same;
    same.role = "primary";
    st = SwitchRole(same, ctx->mount, ctx, daemon, fatal);
    if (!st.ok()) return st.Annotate(outcome.status().message() + "; restarting the primary role");
    return outcome.status().Annotate("this host is still the primary");
  }
  st = SwitchRole(outcome->change, "", ctx, daemon, fatal);
  if (!st.ok()) return st;
  if (!outcome->in_doubt.empty()) {
    return Status::Error("the HANDOVER went to " + sec + " but " + outcome->in_doubt +
                         ": this host is a secondary now; if " + sec + " did not become "
                         "primary (rvgadm status there), run rvgadm takeover on " + sec +
                         ", not here (" + sec + " may still take the HANDOVER late)",
                         ETIMEDOUT);
  }
  spdlog::info("migrate: RVG {} is a secondary here now; {} is primary from seq {}",
               ctx->config.name, sec, outcome->start_seq);
  return nlohmann::json{{"ok", true},
                        {"primary", sec},
                        {"generation", outcome->generation},
                        {"start_seq", outcome->start_seq}};
}

Status TakeHandoverRole(DaemonContext* ctx, std::unique_ptr<Daemon>* daemon, bool* fatal) {
  *fatal = false;
  std::string mount;
  Result<RoleChange> change = (*daemon)->TakeHandover(&mount);
  if (!change.ok()) {
    *fatal = !(*daemon)->serving();
    return change.status();
  }
  Status st = SwitchRole(*change, mount, ctx, daemon, fatal);
  if (!st.ok()) return st;
  spdlog::info("migrate: RVG {} is primary here from now on, generation {} from seq {}, "
               "mounted at {}", ctx->config.name, change->generation->uuid,
               change->generation->start_seq, mount);
  return Status::Ok();
}

}  // namespace rvg
