// Progress of a long transfer for people: the figures (done, total, rate,
// ETA) as one short text — what `status` prints for a resync — and
// ProgressBar, which shows them while rvgadm waits (`startrep --wait`,
// `resync --wait`, and any later command that polls a transfer, such as
// `verify --wait`): a bar redrawn in place on a terminal, or a plain line
// every few seconds when the output goes to a file or a pipe, so logs get
// progress without a flood of carriage returns.
//
// No library: Debian 12 packages none of the C++ progress-bar libraries
// (indicators, tqdm.cpp, ...), and one line redrawn with \r is all this
// needs. Nothing here reads a clock: every call is given `now`, so the
// pacing of plain lines is unit-tested without sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace rvg {

struct ProgressFigures {
  uint64_t done = 0;
  uint64_t total = 0;
  std::optional<double> rate;   // bytes/s; nullopt: unknown
  std::optional<double> eta_s;  // seconds; nullopt: unknown
};

// The figures of a status `resync` object ({done, total, rate, eta_s});
// nullopt when it is null or not an object. Missing or null fields (an
// rvgd of another version) are unknown, never an exception.
std::optional<ProgressFigures> ProgressFromJson(const nlohmann::json& object);

// "37% 1.2 GiB/3.2 GiB 410.0 MiB/s ETA 5s"; the rate and ETA are left out
// while unknown. A total of 0 is 100%.
std::string ProgressText(const ProgressFigures& figures);

// "5s", "3m20s", "2h05m": an ETA for people.
std::string FormatDuration(double seconds);

class ProgressBar {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Mode {
    kTerminal,  // one line, redrawn in place with \r
    kLines,     // a plain line at most every line_interval (and on a change of state)
  };
  static constexpr Clock::duration kDefaultLineInterval = std::chrono::seconds(5);

  ProgressBar(std::ostream& out, Mode mode, std::string label,
              Clock::duration line_interval = kDefaultLineInterval);
  // Clears a terminal line left drawn.
  ~ProgressBar();

  // Where rvgadm draws: a bar on stderr when it is a terminal (else on
  // stdout when that is), plain lines on stdout otherwise.
  static ProgressBar ForRvgadm(std::string label);

  // The transfer now: its figures when known, and a short state ("waiting
  // for the secondary", "resyncing"), shown beside them.
  void Show(const std::optional<ProgressFigures>& figures, const std::string& state,
            Clock::time_point now);
  // Clears the bar (terminal); afterwards the caller prints its result.
  void Clear();

  ProgressBar(ProgressBar&& other) noexcept;
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  ProgressBar& operator=(ProgressBar&&) = delete;

 private:
  std::string Line(const std::optional<ProgressFigures>& figures, const std::string& state) const;

  std::ostream* out_;
  Mode mode_;
  std::string label_;
  Clock::duration line_interval_;
  bool drawn_ = false;                  // terminal: a line is on screen
  std::optional<Clock::time_point> last_line_;  // lines: when the last one went out
  std::string last_state_;
};

}  // namespace rvg
