#include "cli/rvgd/role_change.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>

namespace rvg {

Result<nlohmann::json> TakeOverRole(const nlohmann::json& request, DaemonContext* ctx,
                                    std::unique_ptr<Daemon>* daemon, bool* fatal) {
  *fatal = false;
  auto force = request.find("force");
  auto mount = request.find("mount");
  if ((force != request.end() && !force->is_boolean()) ||
      (mount != request.end() && (!mount->is_string() || mount->get<std::string>().empty() ||
                                  mount->get<std::string>()[0] != '/'))) {
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
  // The secondary role lets go of its locked images and SRL before the
  // primary role opens them.
  daemon->reset();
  *fatal = true;  // from here on, a failure leaves no role running
  const std::string& rvg = ctx->config.name;
  Status st = ctx->db->Run([&](StateDb& db) {
    Status s = db.ChangeRole(rvg, *change);
    if (s.ok()) s = db.SetMountpoint(rvg, dir);
    return s;
  });
  if (!st.ok()) return st.Annotate("recording the takeover in state.db (still a secondary)");
  spdlog::info("takeover: RVG {} is primary here from now on, generation {} from seq {}", rvg,
               change->generation->uuid, change->generation->start_seq);
  Result<RvgConfig> config = ctx->db->Run([&](StateDb& db) { return db.GetRvg(rvg); });
  if (!config.ok()) return config.status();
  ctx->config = *config;
  ctx->mount = dir;
  *daemon = MakePrimaryDaemon(*ctx);
  st = (*daemon)->Start();
  if (!st.ok()) {
    return st.Annotate("the takeover is recorded, but the primary role did not start (rvgadm "
                       "start " + rvg + " tries again)");
  }
  *fatal = false;
  nlohmann::json reply = {{"ok", true},
                          {"generation", change->generation->uuid},
                          {"start_seq", change->generation->start_seq},
                          {"mount", dir}};
  if (!note.empty()) reply["note"] = note;
  return reply;
}

}  // namespace rvg
