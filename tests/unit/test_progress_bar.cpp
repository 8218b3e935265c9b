// ProgressBar and the progress text: what status and rvgadm --wait print
// for a transfer, with the figures known or not, on a terminal (one line
// redrawn) and in a log (a line per interval, and one per change of state).
#include <catch2/catch.hpp>

#include <sstream>

#include "cli/common/progress_bar.h"

namespace rvg {
namespace {

using Clock = ProgressBar::Clock;
using std::chrono::seconds;

constexpr uint64_t kMiB = 1 << 20;
const Clock::time_point kStart = Clock::time_point{} + std::chrono::hours(1);

TEST_CASE("progress text: percent, bytes, rate and ETA; the unknown left out") {
  ProgressFigures f{37 * kMiB, 100 * kMiB, 10.0 * kMiB, 6.3};
  CHECK(ProgressText(f) == "37% 37.0 MiB/100.0 MiB 10.0 MiB/s ETA 6s");
  f.rate.reset();
  f.eta_s.reset();
  CHECK(ProgressText(f) == "37% 37.0 MiB/100.0 MiB");
  CHECK(ProgressText({0, 0, std::nullopt, std::nullopt}).rfind("100% ", 0) == 0);
}

TEST_CASE("durations for people") {
  CHECK(FormatDuration(0) == "0s");
  CHECK(FormatDuration(59.4) == "59s");
  CHECK(FormatDuration(200) == "3m20s");
  CHECK(FormatDuration(7500) == "2h05m");
  CHECK(FormatDuration(-3) == "0s");
}

TEST_CASE("figures from status JSON tolerate nulls and missing fields") {
  CHECK_FALSE(ProgressFromJson(nullptr).has_value());
  auto f = ProgressFromJson({{"done", 5}, {"total", 10}, {"rate", nullptr}});
  REQUIRE(f);
  CHECK(f->done == 5);
  CHECK(f->total == 10);
  CHECK_FALSE(f->rate.has_value());
  CHECK_FALSE(f->eta_s.has_value());
}

TEST_CASE("on a terminal the bar is one line redrawn, and cleared at the end") {
  std::ostringstream out;
  {
    ProgressBar bar(out, ProgressBar::Mode::kTerminal, "full sync");
    bar.Show(ProgressFigures{50 * kMiB, 100 * kMiB, std::nullopt, std::nullopt}, "", kStart);
    bar.Show(std::nullopt, "dcm: waiting", kStart + seconds(1));
  }
  const std::string text = out.str();
  CHECK(text.find('\n') == std::string::npos);
  CHECK(text.find("\r\033[Kfull sync [############............] 50% 50.0 MiB/100.0 MiB") !=
        std::string::npos);
  CHECK(text.find("\r\033[Kfull sync: dcm: waiting") != std::string::npos);
  CHECK(text.size() >= 4);
  CHECK(text.substr(text.size() - 4) == "\r\033[K");  // cleared
}

TEST_CASE("in a log: a line per interval, and one at once when the state changes") {
  std::ostringstream out;
  ProgressBar bar(out, ProgressBar::Mode::kLines, "resync", seconds(5));
  const ProgressFigures f{kMiB, 4 * kMiB, std::nullopt, std::nullopt};
  for (int t = 0; t < 12; ++t) bar.Show(f, "", kStart + seconds(t));  // lines at 0, 5, 10
  bar.Show(std::nullopt, "dcm: waiting", kStart + seconds(11));        // a change: at once
  bar.Clear();
  const std::string text = out.str();
  CHECK(text.find('\r') == std::string::npos);
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  CHECK(lines == 4);
  CHECK(text.rfind("resync: dcm: waiting\n") != std::string::npos);
}

}  // namespace
}  // namespace rvg
