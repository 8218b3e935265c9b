"""Errors, logging, the mount table and process clean-up for the benchmark."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

MIB = 1 << 20
GIB = 1 << 30


class BenchError(Exception):
    """A failure with a one-line message for the user."""


def log(message):
    """Progress goes to stderr, so stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)


def is_mounted(directory):
    real = os.path.realpath(directory)
    with open("/proc/mounts") as mounts:
        return any(len(line.split()) > 1 and line.split()[1] == real for line in mounts)


def lazy_unmount(directory):
    """Last-resort detach of a mount left behind by a failed run."""
    if not is_mounted(directory):
        return
    if os.geteuid() == 0:
        subprocess.run(["umount", "-l", directory], check=False)
    else:
        subprocess.run(["fusermount3", "-u", "-z", directory], check=False)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pids_using(marker):
    """Processes whose command line mentions `marker` (a unique temp path):
    daemons rvgadm started that a failed stop left behind."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            pass
    return found


def terminate(pids, grace=5.0):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids):
        time.sleep(0.1)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def files_equal(a, b):
    """Byte comparison that stops at the first difference."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            block_a, block_b = fa.read(4 * MIB), fb.read(4 * MIB)
            if block_a != block_b:
                return False
            if not block_a:
                return True
