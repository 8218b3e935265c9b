// Shared helpers of the StateDb unit tests (test_state_db*.cpp).
#pragma once

#include <sqlite3.h>
#include <stdlib.h>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "state/state_db.h"

namespace rvg::state_test {

using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

// A temp dir under /tmp, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/rvg-test-state-XXXXXX";
    const char* dir = mkdtemp(pattern);
    REQUIRE(dir != nullptr);
    path_ = dir;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::unique_ptr<StateDb> OpenOk(const std::string& path) {
  auto db = StateDb::Open(path);
  INFO(db.status().message());
  REQUIRE(db.ok());
  return std::move(*db);
}

// Runs SQL on the file directly, as a tool other than rvg would.
inline void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  INFO(sqlite3_errmsg(db));
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

inline int64_t RawCount(const std::string& path, const std::string& table) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string sql = "SELECT count(*) FROM " + table;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  int64_t count = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return count;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline RvgConfig PrimaryConfig(const std::string& name) {
  RvgConfig config;
  config.name = name;
  config.uuid = "6f1c2a3e-uuid";
  config.role = "primary";
  config.durability = "strict";
  config.listen = "";
  config.region_size = 128 * 1024;
  config.srl_path = "/srv/" + name + ".srl";
  config.srl_size = 1ull << 30;
  config.srl_uuid = "srl-of-" + name;
  config.generation = "gen-1";
  // Given out of id order: GetRvg returns them ordered by id.
  config.volumes.push_back(VolumeSpec{2, "logs", "/srv/logs.img", 64ull << 20});
  config.volumes.push_back(VolumeSpec{1, "data", "/srv/data.img", 5ull << 30});
  return config;
}

inline RlinkConfig Rlink(const std::string& rvg, const std::string& name) {
  RlinkConfig rlink;
  rlink.rvg = rvg;
  rlink.name = name;
  rlink.address = "tcp://10.0.0.2:7001";
  return rlink;
}

inline void RequireError(const Status& status, const std::string& message) {
  REQUIRE_FALSE(status.ok());
  REQUIRE_THAT(status.message(), Equals(message));
}

}  // namespace rvg::state_test
