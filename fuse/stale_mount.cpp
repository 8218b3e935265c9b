#include "fuse/stale_mount.h"

#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace rvg {

namespace {

// /proc/self/mounts escapes spaces and the like as octal (\040).
std::string UnescapeMountField(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool IsMountpoint(const std::string& dir, std::string* fstype) {
  std::ifstream mounts("/proc/self/mounts");
  std::string line;
  bool found = false;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string source, target, type;
    fields >> source >> target >> type;
    if (UnescapeMountField(target) == dir) {
      found = true;  // keep going: the last entry is the visible one
      *fstype = type;
    }
  }
  return found;
}

Status LazyUnmount(const std::string& dir) {
  if (geteuid() == 0) {
    if (umount2(dir.c_str(), MNT_DETACH) != 0) {
      return Status::FromErrno(errno, "detaching the dead mount at " + dir);
    }
    return Status::Ok();
  }
  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno(errno, "fork for fusermount3");
  if (pid == 0) {
    execlp("fusermount3", "fusermount3", "-u", "-z", "-q", dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return Status::Error("fusermount3 -u -z " + dir + " failed; unmount it by hand");
  }
  return Status::Ok();
}

}  // namespace

Status PrepareMountpoint(const std::string& dir) {
  // stat() of a FUSE root can be answered from the kernel's attribute cache
  // even after the daemon died; statfs() always asks the daemon, so it is
  // the reliable probe for a dead connection.
  struct statvfs vfs;
  if (statvfs(dir.c_str(), &vfs) != 0) {
    if (errno != ENOTCONN) return Status::FromErrno(errno, "mountpoint " + dir);
    spdlog::warn("{} is a dead FUSE mount (an earlier rvgd died); detaching it", dir);
    Status s = LazyUnmount(dir);
    if (!s.ok()) return s;
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return Status::FromErrno(errno, "mountpoint " + dir);
  if (!S_ISDIR(st.st_mode)) return Status::Error("mountpoint " + dir + " is not a directory");
  std::string fstype;
  if (IsMountpoint(dir, &fstype)) {
    return Status::Error("mountpoint " + dir + " already holds a " + fstype +
                         " mount; is another rvgd serving it? Unmount it first");
  }
  return Status::Ok();
}

}  // namespace rvg
