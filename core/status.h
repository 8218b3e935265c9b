// Status and Result: error values that carry a message across module
// boundaries.
//
// A Status is either OK or an error with a one-line, human-readable message
// and an errno-style code. The code is what the FUSE layer hands back to the
// kernel (EIO when nothing more specific applies); the message is what an
// administrator reads in a log line or on rvgadm's stderr, so it should say
// what went wrong and, where it can, what to do about it.
//
// Result<T> is a value or a Status, for functions that produce something.
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <utility>

namespace rvg {

class Status {
 public:
  Status() = default;  // OK

  static Status Ok() { return Status(); }
  // A failure with an errno-style code (EIO unless the caller knows better).
  static Status Error(std::string message, int code = EIO) {
    return Status(code, std::move(message));
  }
  // A failed system call: appends strerror(err) to the message.
  static Status FromErrno(int err, const std::string& what);

  bool ok() const { return code_ == 0; }
  int code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const { return ok() ? "OK" : message_; }

  // Prefixes context to an error ("opening SRL: ..."); OK stays OK.
  Status Annotate(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + message_);
  }

 private:
  Status(int code, std::string message) : code_(code), message_(std::move(message)) {}
  int code_ = 0;
  std::string message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {
    if (status_.ok()) status_ = Status::Error("internal: Result built from OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace rvg
