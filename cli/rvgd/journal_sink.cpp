#include "cli/rvgd/journal_sink.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace rvg {

int JournalPriority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical: return 2;  // LOG_CRIT
    case spdlog::level::err: return 3;       // LOG_ERR
    case spdlog::level::warn: return 4;      // LOG_WARNING
    case spdlog::level::info: return 6;      // LOG_INFO
    default: return 7;                       // LOG_DEBUG (trace, debug)
  }
}

bool StderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long device = 0, inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
  struct stat st;
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  // Redirected since systemd set it (e.g. rvgd run by hand from a unit's
  // shell): then stderr is not the journal and the prefix would be noise.
  return st.st_dev == device && st.st_ino == inode;
}

void JournalStderrSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  std::string out = "<" + std::to_string(JournalPriority(msg.level)) + ">";
  out.append(line.data(), line.size());
  // One write per line, so lines of concurrent threads never interleave in
  // the stream (base_sink holds a mutex, but stderr is shared with
  // whatever else writes there).
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, out.data(), out.size());
}

void JournalStderrSink::flush_() {}

}  // namespace rvg
