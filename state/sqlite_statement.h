// Thin RAII wrappers over the SQLite C API, for StateDb's implementation.
//
// SqlStatement is one prepared statement whose values are bound in order
// (never spliced into SQL text). A failure to prepare or bind is remembered
// and returned by the next Step or Run, so a call site reads as a straight
// line: prepare, bind, run, check once. Every error message is "WHAT:
// sqlite3_errmsg", WHAT being what the caller was doing; its code() is
// EBUSY for SQLITE_BUSY/SQLITE_LOCKED (a lock held past the busy timeout:
// worth retrying), ENOSPC for SQLITE_FULL, EIO otherwise.
//
// uint64 values are bound as int64 and read back with a cast, so they
// round-trip bit for bit even above INT64_MAX.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace rvg {

class SqlStatement {
 public:
  SqlStatement(sqlite3* db, const std::string& sql);
  ~SqlStatement();
  SqlStatement(const SqlStatement&) = delete;
  SqlStatement& operator=(const SqlStatement&) = delete;

  // Each Bind fills the next "?" of the SQL text.
  SqlStatement& BindText(const std::string& value);
  SqlStatement& BindInt(int64_t value);
  SqlStatement& BindUint(uint64_t value) { return BindInt(static_cast<int64_t>(value)); }
  SqlStatement& BindReal(double value);
  // Bytes, copied at bind time; an empty blob binds as an empty blob, not
  // NULL (which a NOT NULL column would refuse).
  SqlStatement& BindBlob(const std::vector<uint8_t>& value);

  // Moves to the next result row: true if there is one, false when done.
  Result<bool> Step(const std::string& what);
  // Runs the statement to completion, ignoring any rows.
  Status Run(const std::string& what);
  // Makes the statement ready to run again with new values, and forgets the
  // error of the last run (not a failure to prepare, which stays): a
  // statement kept prepared for reuse survives a busy database.
  void Reset();

  // Statements prepared by this process so far (tests check that a hot path
  // reuses its statement rather than preparing one per call).
  static uint64_t prepared_total();

  // The extended result code of the failure (e.g. SQLITE_CONSTRAINT_UNIQUE),
  // SQLITE_OK while there is none; lets callers turn a constraint into a
  // message about names rather than about SQL.
  int error_code() const { return rc_; }

  // Columns of the current row, numbered from 0. NULL reads as "" or 0.
  std::string Text(int column) const;
  int64_t Int(int column) const;
  uint64_t Uint(int column) const { return static_cast<uint64_t>(Int(column)); }
  double Real(int column) const;
  std::vector<uint8_t> Blob(int column) const;

 private:
  SqlStatement& Check(int rc);

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int bound_ = 0;
  int rc_ = 0;
  std::string error_;
  int prepare_rc_ = 0;  // what Reset() returns rc_ and error_ to
  std::string prepare_error_;
};

// Runs SQL that carries no values (schema, pragmas, transaction control).
Status SqlExec(sqlite3* db, const char* sql, const std::string& what);

// An explicit transaction, rolled back on destruction unless committed.
// Declare it before the statements that run inside it, so that they are
// finalized first.
class SqlTransaction {
 public:
  SqlTransaction(sqlite3* db, std::string what) : db_(db), what_(std::move(what)) {}
  ~SqlTransaction();
  SqlTransaction(const SqlTransaction&) = delete;
  SqlTransaction& operator=(const SqlTransaction&) = delete;

  // A consistent snapshot for several reads.
  Status BeginRead() { return SqlExec(db_, "BEGIN", what_); }
  // Takes the write lock now, waiting up to the busy timeout: a write lock
  // taken up front never fails half-way with SQLITE_BUSY_SNAPSHOT.
  Status BeginWrite() { return SqlExec(db_, "BEGIN IMMEDIATE", what_); }
  Status Commit() { return SqlExec(db_, "COMMIT", what_); }

 private:
  sqlite3* db_;
  std::string what_;
};

}  // namespace rvg
