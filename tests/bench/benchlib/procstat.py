"""What the daemons behind a target cost while a workload runs: peak
resident memory, sampled from /proc/PID/status, and CPU time, from
/proc/PID/stat."""

import os
import threading

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_INTERVAL = 0.1  # seconds between RSS samples


def rss_kib(pid):
    """VmRSS of `pid` in KiB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid):
    """utime + stime of `pid` (threads included), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    # The command name, field 2, may hold spaces; the fields after its
    # closing parenthesis start at field 3 (state), so utime, field 14, is
    # index 11 there and stime index 12.
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class Usage:
    """Samples the RSS of `pids` (role -> pid) every 100 ms from start() to
    stop(), and reads their CPU time at both ends."""

    def __init__(self, pids):
        self.pids = dict(pids)
        self.peak_kib = {role: 0 for role in self.pids}
        self.cpu_start = {}
        self.cpu_used = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while True:
            for role, pid in self.pids.items():
                kib = rss_kib(pid)
                if kib is not None and kib > self.peak_kib[role]:
                    self.peak_kib[role] = kib
            if self._stop.wait(SAMPLE_INTERVAL):
                return

    def start(self):
        self.cpu_start = {role: cpu_seconds(pid) for role, pid in self.pids.items()}
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.cpu_used = {role: cpu_seconds(pid) - self.cpu_start[role]
                         for role, pid in self.pids.items()}

    def total_cpu(self):
        return sum(self.cpu_used.values())
