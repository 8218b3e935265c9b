// Tests for cli/common/pid_file: one holder at a time, however the opens,
// locks and releases of several would-be daemons interleave.
#include "cli/common/pid_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "temp_dir.h"

namespace rvg {
namespace {

using Catch::Matchers::Contains;

using testing::TempDir;

TEST_CASE("a pid file has one holder, and names it to the others") {
  TempDir dir;
  const std::string path = dir.File("rvg.pid");
  PidFile first;
  REQUIRE(first.Acquire(path).ok());
  CHECK(ReadPidFile(path) == getpid());
  PidFile second;  // flock conflicts between open files, even in one process
  Status st = second.Acquire(path);
  REQUIRE_FALSE(st.ok());
  CHECK(st.code() == EWOULDBLOCK);
  CHECK_THAT(st.message(), Contains("pid " + std::to_string(getpid())));
}

TEST_CASE("a released pid file is emptied, not unlinked, and can be taken again") {
  TempDir dir;
  const std::string path = dir.File("rvg.pid");
  {
    PidFile first;
    REQUIRE(first.Acquire(path).ok());
  }
  CHECK(std::filesystem::exists(path));
  CHECK(ReadPidFile(path) == 0);
  PidFile again;
  CHECK(again.Acquire(path).ok());
}

// The race of the old code: daemon B opens the pid file while daemon A holds
// it; A exits (and used to unlink the path); B locks what it opened; C then
// must find B's lock at the path. When A unlinked, C created a new file,
// locked it, and two daemons ran.
TEST_CASE("a daemon that opened the pid file before the holder left keeps the next one out") {
  TempDir dir;
  const std::string path = dir.File("rvg.pid");
  auto a = std::make_unique<PidFile>();
  REQUIRE(a->Acquire(path).ok());
  int b = ::open(path.c_str(), O_RDWR | O_CLOEXEC);  // B's open, before its flock
  REQUIRE(b >= 0);
  a.reset();                                          // A stops
  REQUIRE(::flock(b, LOCK_EX | LOCK_NB) == 0);        // B's flock succeeds
  PidFile c;
  Status st = c.Acquire(path);
  CHECK_FALSE(st.ok());  // C sees B's lock
  CHECK(st.code() == EWOULDBLOCK);
  ::close(b);
}

TEST_CASE("a pid file deleted by hand under a lock is not mistaken for the lock") {
  TempDir dir;
  const std::string path = dir.File("rvg.pid");
  int orphan = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(orphan >= 0);
  REQUIRE(::flock(orphan, LOCK_EX | LOCK_NB) == 0);
  REQUIRE(::unlink(path.c_str()) == 0);
  PidFile fresh;  // the path names no locked file: taking it is right
  REQUIRE(fresh.Acquire(path).ok());
  PidFile other;
  CHECK_FALSE(other.Acquire(path).ok());
  ::close(orphan);
}

}  // namespace
}  // namespace rvg
