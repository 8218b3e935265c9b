#include "cli/common/home.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace rvg {

namespace {

std::string EnvOrEmpty(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

std::string UserHomeDir() {
  std::string home = EnvOrEmpty("HOME");
  if (!home.empty()) return home;
  const passwd* entry = ::getpwuid(::geteuid());
  return entry != nullptr && entry->pw_dir != nullptr ? entry->pw_dir : "/";
}

std::string DefaultDir() {
  if (::geteuid() == 0) return "/var/lib/rvg";
  // XDG says a relative XDG_STATE_HOME is invalid and must be ignored.
  std::string state_home = EnvOrEmpty("XDG_STATE_HOME");
  if (state_home.empty() || state_home[0] != '/') state_home = UserHomeDir() + "/.local/state";
  return state_home + "/rvg";
}

// rvgadm and rvgd must name the same socket and database whatever their
// working directories and however the path was spelled, so the home is made
// absolute and the part that exists already is resolved through symlinks.
std::string Absolute(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::path path = fs::absolute(fs::path(dir), error);
  if (error) path = fs::path(dir);
  fs::path resolved = fs::weakly_canonical(path, error);
  if (error) resolved = path.lexically_normal();
  std::string text = resolved.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

Status MakeDir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return Status::Ok();
  int err = errno;
  struct stat st;
  if (err == EEXIST && ::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return Status::Error(path + " exists and is not a directory; move it away or use another --home",
                         ENOTDIR);
  }
  return Status::FromErrno(err, "creating directory " + path);
}

// Parents the administrator did not ask for (e.g. ~/.local/state) get the
// usual 0755; only the home itself and its contents are private.
Status MakeParents(const std::string& dir) {
  std::string::size_type slash = 0;
  while ((slash = dir.find('/', slash + 1)) != std::string::npos) {
    Status status = MakeDir(dir.substr(0, slash), 0755);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

// One folder of the home: a real directory (not a symlink), owned by the
// user running this, writable by nobody else. Another user who can write
// here could swap state.db or plant the control socket; a home owned by
// another user would get files this user owns that its owner's rvgd then
// cannot use.
Status CheckPrivateDir(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "examining " + path);
  if (!S_ISDIR(st.st_mode)) {
    return Status::Error(path + " is not a directory (a symlink?); make it a directory of its own",
                         ENOTDIR);
  }
  uid_t me = ::geteuid();
  if (st.st_uid != me) {
    return Status::Error(path + " is owned by uid " + std::to_string(st.st_uid) +
                             ", not by uid " + std::to_string(me) + " that runs this: run rvg as "
                             "that user, or give it to this one (chown -R " + std::to_string(me) +
                             " " + path + ")",
                         EPERM);
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%03o", st.st_mode & 0777);
    return Status::Error(path + " is writable by group or others (mode " + mode +
                             "): make it private (chmod 700 " + path + ")",
                         EPERM);
  }
  return Status::Ok();
}

}  // namespace

Home Home::Resolve(const std::string& explicit_dir) {
  std::string dir = explicit_dir;
  if (dir.empty()) dir = EnvOrEmpty("RVG_HOME");
  if (dir.empty()) dir = DefaultDir();
  return Home(Absolute(dir));
}

Status Home::Prepare() const {
  Status status = MakeParents(dir_);
  if (status.ok()) status = MakeDir(dir_, 0700);
  if (status.ok()) status = MakeDir(dir_ + "/run", 0700);
  if (status.ok()) status = MakeDir(dir_ + "/log", 0700);
  if (!status.ok()) return status.Annotate("preparing rvg home " + dir_);
  return CheckPrivate();
}

Status Home::CheckPrivate() const {
  for (const std::string& path : {dir_, dir_ + "/run", dir_ + "/log"}) {
    if (path != dir_ && ::access(path.c_str(), F_OK) != 0 && errno == ENOENT) continue;
    Status status = CheckPrivateDir(path);
    if (!status.ok()) return status.Annotate("unsafe rvg home");
  }
  return Status::Ok();
}

std::string Home::StateDbPath() const { return dir_ + "/state.db"; }

std::string Home::ControlEndpoint(const std::string& rvg) const {
  return "ipc://" + dir_ + "/run/" + rvg + ".ctl";
}

std::string Home::PidPath(const std::string& rvg) const { return dir_ + "/run/" + rvg + ".pid"; }

std::string Home::LogPath(const std::string& rvg) const { return dir_ + "/log/" + rvg + ".log"; }

std::string Home::UndoPath(const std::string& rvg) const { return dir_ + "/" + rvg + ".undo"; }

}  // namespace rvg
