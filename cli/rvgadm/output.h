// How rvgadm talks to people: results on stdout, errors and usage errors
// on stderr in the one format scripts can rely on, and progress that is
// drawn only on a terminal.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cli/rvgadm/command.h"
#include "core/status.h"

namespace rvg {

// "rvgadm: error: MESSAGE" on stderr; returns kExitFailure.
int ReportError(const Status& status);
int ReportError(const std::string& message);

// "rvgadm: usage: WHAT", the command's usage line when known, and a hint
// to `rvgadm --help`, on stderr; returns kExitUsage.
int ReportUsage(const CommandSpec* spec, const std::string& what);

// The usage line of one command ("rvgadm create RVG ...").
std::string UsageLine(const CommandSpec& spec);

// One line on stdout.
void PrintLine(const std::string& line);
// "rvgadm: note: MESSAGE" on stderr: worth knowing, not a failure.
void PrintNote(const std::string& message);
// Pretty-printed JSON on stdout. Invalid UTF-8 from a daemon is replaced,
// not fatal.
void PrintJson(const nlohmann::json& value);

// A one-line "what... Ns" indicator on stderr while a long call waits,
// redrawn in place; silent when stderr is not a terminal.
class WaitIndicator {
 public:
  explicit WaitIndicator(std::string what);
  ~WaitIndicator();  // clears the line
  void Tick(double elapsed_seconds);

 private:
  std::string what_;
  bool enabled_;
};

}  // namespace rvg
