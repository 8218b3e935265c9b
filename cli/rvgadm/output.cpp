#include "cli/rvgadm/output.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace rvg {

int ReportError(const Status& status) { return ReportError(status.message()); }

int ReportError(const std::string& message) {
  std::cerr << "rvgadm: error: " << message << std::endl;
  return kExitFailure;
}

std::string UsageLine(const CommandSpec& spec) { return "rvgadm " + spec.name + " " + spec.synopsis; }

int ReportUsage(const CommandSpec* spec, const std::string& what) {
  std::cerr << "rvgadm: usage: " << what << "\n";
  if (spec != nullptr) std::cerr << "  " << UsageLine(*spec) << "\n";
  std::cerr << "  (rvgadm --help lists every command)" << std::endl;
  return kExitUsage;
}

void PrintLine(const std::string& line) { std::cout << line << std::endl; }

void PrintNote(const std::string& message) {
  std::cerr << "rvgadm: note: " << message << std::endl;
}

void PrintJson(const nlohmann::json& value) {
  std::cout << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

WaitIndicator::WaitIndicator(std::string what)
    : what_(std::move(what)), enabled_(::isatty(STDERR_FILENO) == 1) {}

WaitIndicator::~WaitIndicator() {
  if (enabled_) std::cerr << "\r\033[K" << std::flush;
}

void WaitIndicator::Tick(double elapsed_seconds) {
  if (!enabled_) return;
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.0fs", elapsed_seconds);
  std::cerr << "\r\033[K" << what_ << " " << seconds << std::flush;
}

}  // namespace rvg
