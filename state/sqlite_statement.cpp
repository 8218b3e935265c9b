#include "state/sqlite_statement.h"

#include <sqlite3.h>

#include <atomic>

namespace rvg {

namespace {

std::atomic<uint64_t> prepared{0};

// The errno a caller can act on: EBUSY when another connection held a lock
// past the busy timeout (retrying later may work), ENOSPC for a full disk,
// EIO for everything else.
int ErrnoOf(int sqlite_rc) {
  switch (sqlite_rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return EBUSY;
    case SQLITE_FULL:
      return ENOSPC;
    default:
      return EIO;
  }
}

}  // namespace

SqlStatement::SqlStatement(sqlite3* db, const std::string& sql) : db_(db) {
  prepared.fetch_add(1, std::memory_order_relaxed);
  rc_ = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc_ != SQLITE_OK) error_ = sqlite3_errmsg(db);
  prepare_rc_ = rc_;
  prepare_error_ = error_;
}

uint64_t SqlStatement::prepared_total() { return prepared.load(std::memory_order_relaxed); }

SqlStatement::~SqlStatement() { sqlite3_finalize(stmt_); }

SqlStatement& SqlStatement::BindText(const std::string& value) {
  return Check(sqlite3_bind_text(stmt_, ++bound_, value.data(), static_cast<int>(value.size()),
                                 SQLITE_TRANSIENT));
}

SqlStatement& SqlStatement::BindInt(int64_t value) {
  return Check(sqlite3_bind_int64(stmt_, ++bound_, value));
}

SqlStatement& SqlStatement::BindReal(double value) {
  return Check(sqlite3_bind_double(stmt_, ++bound_, value));
}

SqlStatement& SqlStatement::BindBlob(const std::vector<uint8_t>& value) {
  // sqlite3_bind_blob with a null pointer binds NULL, which an empty
  // vector's data() may be.
  if (value.empty()) return Check(sqlite3_bind_zeroblob(stmt_, ++bound_, 0));
  return Check(sqlite3_bind_blob(stmt_, ++bound_, value.data(), static_cast<int>(value.size()),
                                 SQLITE_TRANSIENT));
}

Result<bool> SqlStatement::Step(const std::string& what) {
  if (rc_ == SQLITE_OK) {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    Check(sqlite3_extended_errcode(db_));
  }
  return Status::Error(what + ": " + error_, ErrnoOf(rc_));
}

Status SqlStatement::Run(const std::string& what) {
  for (;;) {
    Result<bool> row = Step(what);
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

void SqlStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bound_ = 0;
  rc_ = prepare_rc_;
  error_ = prepare_error_;
}

std::string SqlStatement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

int64_t SqlStatement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

double SqlStatement::Real(int column) const { return sqlite3_column_double(stmt_, column); }

std::vector<uint8_t> SqlStatement::Blob(int column) const {
  const auto* bytes = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  if (bytes == nullptr) return {};
  return std::vector<uint8_t>(bytes, bytes + sqlite3_column_bytes(stmt_, column));
}

SqlStatement& SqlStatement::Check(int rc) {
  // The first failure is the one worth reporting.
  if (rc_ == SQLITE_OK && rc != SQLITE_OK) {
    rc_ = rc;
    error_ = sqlite3_errmsg(db_);
  }
  return *this;
}

Status SqlExec(sqlite3* db, const char* sql, const std::string& what) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return Status::Ok();
  return Status::Error(what + ": " + sqlite3_errmsg(db), ErrnoOf(sqlite3_extended_errcode(db)));
}

SqlTransaction::~SqlTransaction() {
  // Still inside a transaction: it was not committed, or COMMIT failed.
  if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

}  // namespace rvg
