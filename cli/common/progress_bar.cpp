#include "cli/common/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "core/size_parse.h"

namespace rvg {

namespace {

constexpr int kBarWidth = 24;

std::optional<double> NumberOrNull(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// A byte count: JSON may carry it as a signed integer (a small one parsed
// from text); a negative or fractional one is not a count.
uint64_t Count(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  const int64_t value = it->get<int64_t>();
  return value > 0 ? static_cast<uint64_t>(value) : 0;
}

uint64_t Percent(const ProgressFigures& f) {
  if (f.total == 0) return 100;
  return std::min<uint64_t>(100, static_cast<uint64_t>(
                                     static_cast<double>(f.done) * 100 / static_cast<double>(f.total)));
}

}  // namespace

std::optional<ProgressFigures> ProgressFromJson(const nlohmann::json& object) {
  if (!object.is_object()) return std::nullopt;
  ProgressFigures f;
  f.done = Count(object, "done");
  f.total = Count(object, "total");
  f.rate = NumberOrNull(object, "rate");
  f.eta_s = NumberOrNull(object, "eta_s");
  return f;
}

std::string FormatDuration(double seconds) {
  const auto s = static_cast<uint64_t>(std::llround(std::max(0.0, seconds)));
  char text[48];
  if (s < 60) {
    std::snprintf(text, sizeof(text), "%llus", static_cast<unsigned long long>(s));
  } else if (s < 3600) {
    std::snprintf(text, sizeof(text), "%llum%02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  } else {
    std::snprintf(text, sizeof(text), "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s / 60 % 60));
  }
  return text;
}

std::string ProgressText(const ProgressFigures& f) {
  std::string text = std::to_string(Percent(f)) + "% " + FormatSize(f.done) + "/" + FormatSize(f.total);
  if (f.rate) text += " " + FormatSize(static_cast<uint64_t>(std::max(0.0, *f.rate))) + "/s";
  if (f.eta_s) text += " ETA " + FormatDuration(*f.eta_s);
  return text;
}

ProgressBar::ProgressBar(std::ostream& out, Mode mode, std::string label,
                         Clock::duration line_interval)
    : out_(&out), mode_(mode), label_(std::move(label)), line_interval_(line_interval) {}

ProgressBar::ProgressBar(ProgressBar&& other) noexcept
    : out_(other.out_),
      mode_(other.mode_),
      label_(std::move(other.label_)),
      line_interval_(other.line_interval_),
      drawn_(other.drawn_),
      last_line_(other.last_line_),
      last_state_(std::move(other.last_state_)) {
  other.drawn_ = false;
}

ProgressBar::~ProgressBar() { Clear(); }

ProgressBar ProgressBar::ForRvgadm(std::string label) {
  if (::isatty(STDERR_FILENO) == 1) return ProgressBar(std::cerr, Mode::kTerminal, std::move(label));
  if (::isatty(STDOUT_FILENO) == 1) return ProgressBar(std::cout, Mode::kTerminal, std::move(label));
  return ProgressBar(std::cout, Mode::kLines, std::move(label));
}

std::string ProgressBar::Line(const std::optional<ProgressFigures>& figures,
                              const std::string& state) const {
  std::string line = label_;
  if (figures) {
    if (mode_ == Mode::kTerminal) {
      const auto filled = static_cast<int>(Percent(*figures) * kBarWidth / 100);
      line += " [" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "]";
    }
    line += " " + ProgressText(*figures);
  }
  if (!state.empty()) line += figures ? " (" + state + ")" : ": " + state;
  return line;
}

void ProgressBar::Show(const std::optional<ProgressFigures>& figures, const std::string& state,
                       Clock::time_point now) {
  if (mode_ == Mode::kTerminal) {
    *out_ << "\r\033[K" << Line(figures, state) << std::flush;
    drawn_ = true;
    return;
  }
  // Plain lines: one when the state changes, else one per interval.
  if (last_line_ && state == last_state_ && now - *last_line_ < line_interval_) return;
  *out_ << Line(figures, state) << std::endl;
  last_line_ = now;
  last_state_ = state;
}

void ProgressBar::Clear() {
  if (!drawn_) return;
  *out_ << "\r\033[K" << std::flush;
  drawn_ = false;
}

}  // namespace rvg
