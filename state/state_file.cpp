#include "state/state_file.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "core/file_env.h"
#include "state/state_format.h"

namespace rvg {

namespace {

constexpr const char* kRestore = ": restore it from backup or move it away";

// The schema in a fresh SQLite file at `temp`, synced.
Status WriteFreshDatabase(const std::string& temp, const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(temp.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  Status status;
  if (rc != SQLITE_OK) {
    status = Status::Error("creating state database " + path + ": " + sqlite3_errmsg(db));
  } else {
    // synchronous=FULL (SQLite's default in rollback mode) syncs the
    // commit; WAL mode is set by every open of the real file.
    status = BringStateToCurrentFormat(db, path);
  }
  sqlite3_close_v2(db);
  return status;
}

}  // namespace

Status EmptyStateFile(const std::string& path) {
  return Status::Error("state database " + path + " is empty" + kRestore +
                           " (rvgadm create makes a new one only where none exists)",
                       EINVAL);
}

Status CheckStateFileNotEmpty(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "examining " + path);
  return S_ISREG(st.st_mode) && st.st_size == 0 ? EmptyStateFile(path) : Status::Ok();
}

Status CreateStateFileIfMissing(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return Status::Ok();
  if (errno != ENOENT) return Status::FromErrno(errno, "examining " + path);
  std::string pattern = path + ".new-XXXXXX";
  std::vector<char> temp(pattern.begin(), pattern.end());
  temp.push_back('\0');
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) return Status::FromErrno(errno, "creating state database " + path);
  ::close(fd);
  const std::string temp_path(temp.data());
  Status status = WriteFreshDatabase(temp_path, path);
  // link, not rename: if another rvgadm created state.db meanwhile, its
  // file stays and is the one used.
  if (status.ok() && ::link(temp_path.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    status = Status::FromErrno(errno, "creating state database " + path);
  }
  ::unlink(temp_path.c_str());
  if (status.ok()) status = FileEnv::Posix()->SyncDirOf(path).Annotate("creating state database");
  return status;
}

Status QuickCheckStateFile(sqlite3* db, const std::string& path) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, nullptr);
  std::string result;
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(st, 0);
      result = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    }
  }
  sqlite3_finalize(st);
  if ((rc & 0xff) == SQLITE_NOTADB) return Status::Ok();  // not SQLite: ReadStateFormat says so
  if (rc == SQLITE_ROW && result == "ok") return Status::Ok();
  if (rc != SQLITE_ROW && (rc & 0xff) != SQLITE_CORRUPT) {
    return Status::Error("checking state database " + path + ": " + sqlite3_errmsg(db));
  }
  std::string why = rc == SQLITE_ROW ? result : sqlite3_errmsg(db);
  size_t newline = why.find('\n');
  if (newline != std::string::npos) why.resize(newline);
  return Status::Error("state database " + path + " is damaged (" + why + ")" + kRestore, EIO);
}

}  // namespace rvg
