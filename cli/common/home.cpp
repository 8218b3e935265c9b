#include "cli/common/home.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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
  return status.Annotate("preparing rvg home " + dir_);
}

std::string Home::StateDbPath() const { return dir_ + "/state.db"; }

std::string Home::ControlEndpoint(const std::string& rvg) const {
  return "ipc://" + dir_ + "/run/" + rvg + ".ctl";
}

std::string Home::PidPath(const std::string& rvg) const { return dir_ + "/run/" + rvg + ".pid"; }

std::string Home::LogPath(const std::string& rvg) const { return dir_ + "/log/" + rvg + ".log"; }

}  // namespace rvg
