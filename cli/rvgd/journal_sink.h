// Log lines for the systemd journal: when rvgd runs under a unit, its
// stderr is a journal stream (systemd sets JOURNAL_STREAM), and journald
// reads a "<N>" prefix on each line as the line's syslog priority
// (SyslogLevelPrefix=, on by default). So `journalctl -p warning -u
// rvgd@RVG` shows rvgd's warnings and errors, and an error is an error in
// whatever forwards the journal. The journal stamps time, host and unit
// itself, so a line carries only the priority, the RVG and the message.
//
// Plain stderr with a prefix rather than sd_journal_send(): the stream is
// what systemd hands the service, it needs no socket of its own, and a
// test reads it from a pipe.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <mutex>
#include <string>

namespace rvg {

// syslog priority (0 emerg .. 7 debug) of a spdlog level.
int JournalPriority(spdlog::level::level_enum level);

// True when stderr is the journal stream systemd set up for this process
// (JOURNAL_STREAM names stderr's device and inode).
bool StderrIsJournal();

class JournalStderrSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;
};

}  // namespace rvg
