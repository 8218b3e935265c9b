#!/usr/bin/python3
"""rvgd@.service, the systemd template unit (packaging/systemd), without
systemd as PID 1 (CI has none):

1. `systemd-analyze verify` accepts the unit as built (ExecStart pointed
   at this build's rvgd, which it checks exists) and prints nothing.
2. The unit's own ExecStart line, run directly with %i and the home
   filled in, under a NOTIFY_SOCKET this test listens on (standing in for
   systemd) and WATCHDOG_USEC=3 s: rvgd sends READY=1 once it serves,
   STATUS= lines saying what it does, WATCHDOG=1 within the period while
   it answers, and STOPPING=1 when `rvgadm stop` stops it, then exits 0.
   Its stderr, a journal stream (JOURNAL_STREAM), gets each line with its
   syslog priority: "<4>" for a warning, "<6>" for information.
"""

import os
import re
import shlex
import shutil
import socket
import subprocess
import time

import rvgtest
from rvgsys import RVGD
from rvgtest import check, log


def unit_text():
    path = os.path.join(os.environ['RVG_BUILD'], 'packaging', 'systemd', 'rvgd@.service')
    check(os.path.exists(path), f'{path} was not generated')
    with open(path) as f:
        return f.read()


def exec_start(text, unit_env=None):
    """ExecStart's words as systemd runs them. A word that is a bare $VAR
    becomes the variable's words, none when it is unset, as systemd does;
    the shipped /etc/default/rvgd sets nothing (unit_env None)."""
    line = re.search(r'^ExecStart=(.*)$', text, re.MULTILINE)
    check(line, 'the unit has no ExecStart line')
    words = []
    for word in shlex.split(line.group(1)):
        name = re.fullmatch(r'\$([A-Za-z_][A-Za-z0-9_]*)', word)
        if name:
            words += (unit_env or {}).get(name.group(1), '').split()
        else:
            words.append(word)
    return words


def verify(env, text):
    if shutil.which('systemd-analyze') is None:
        raise rvgtest.TestFailure('systemd-analyze is missing (package systemd): '
                                  'packaging/install-deps.sh installs it')
    argv = exec_start(text)
    here = re.sub(r'^ExecStart=\S+', f'ExecStart={RVGD}', text, flags=re.MULTILINE)
    check(argv[0].endswith('/rvgd'), f'ExecStart runs {argv[0]}, not rvgd')
    d = os.path.join(env.root, 'units')
    os.makedirs(d)
    path = os.path.join(d, 'rvgd@demo.service')
    with open(path, 'w') as f:
        f.write(here)
    cp = subprocess.run(['systemd-analyze', 'verify', '--man=no', path], capture_output=True,
                        text=True, timeout=60, cwd=d)
    check(cp.returncode == 0 and not cp.stderr.strip() and not cp.stdout.strip(),
          f'systemd-analyze verify: exit {cp.returncode}\n{cp.stdout}{cp.stderr}')
    log('systemd-analyze verify: the unit is clean')


class NotifySocket:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []

    def wait_for(self, what, timeout):
        """Reads datagrams until one holds the line `what` (a prefix such
        as STATUS=); returns that line."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.messages:
                for line in m.split('\n'):
                    if line.startswith(what):
                        self.messages.remove(m)
                        return line
            left = deadline - time.monotonic()
            check(left > 0, f'no {what} from rvgd within {timeout} s (got {self.messages})')
            self.sock.settimeout(left)
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass

    def close(self):
        self.sock.close()


def run_exec_start(env, text):
    h = env.host('unit')
    h.create_secondary([('a', '4M')], f'tcp://127.0.0.1:{rvgtest.free_port()}', '4M',
                       '--insecure', '--rvg-uuid', '0123abcd-0000-4000-8000-00000000cafe')
    argv = exec_start(text)
    argv = [RVGD] + [a.replace('/var/lib/rvg', h.home).replace('%i', h.rvg) for a in argv[1:]]
    check(argv[-1] == h.rvg and h.home in argv, f'ExecStart after substitution: {argv}')
    notify = NotifySocket(os.path.join(env.root, 'notify.sock'))
    env.on_cleanup('notify socket', notify.close)
    # stderr is a file standing in for the journal stream: JOURNAL_STREAM
    # names its device and inode, as systemd does for StandardError=journal.
    journal_path = os.path.join(env.root, 'journal-stream')
    with open(journal_path, 'wb') as journal:
        st = os.fstat(journal.fileno())
        proc = env.spawn(argv, env=dict(os.environ, NOTIFY_SOCKET=notify.path,
                                        WATCHDOG_USEC='3000000',
                                        JOURNAL_STREAM=f'{st.st_dev}:{st.st_ino}'),
                         stdout=subprocess.DEVNULL, stderr=journal)
    notify.wait_for('READY=1', 30)
    check(h.status()['running'], 'READY=1 came but rvgadm status does not see rvgd running')
    status = notify.wait_for('STATUS=secondary', 15)
    log(f'READY=1, then {status}')
    # Twice within two periods (WATCHDOG_USEC / 3 each).
    notify.wait_for('WATCHDOG=1', 3)
    notify.wait_for('WATCHDOG=1', 3)
    log('WATCHDOG=1 within the watchdog period, twice')
    h.rvgadm('stop', h.rvg)
    notify.wait_for('STOPPING=1', 10)
    check(proc.wait(timeout=30) == 0, f'rvgd exited {proc.returncode} after rvgadm stop')
    log('STOPPING=1 at rvgadm stop; rvgd exited 0')
    check_journal_priorities(journal_path, h.rvg)


def check_journal_priorities(path, rvg):
    """Every line rvgd wrote to the journal stream carries its syslog
    priority as journald reads it ("<N>"), so `journalctl -p warning` finds
    the warnings; the journal stamps the time itself."""
    with open(path, errors='replace') as f:
        lines = [line for line in f.read().split('\n') if line]
    check(lines, 'rvgd wrote nothing to the journal stream')
    for line in lines:
        check(re.match(r'<[0-7]>\[\w+\] \[' + re.escape(rvg) + r'\] ', line),
              f'a journal line without a priority prefix: {line!r}')
    # --insecure draws a warning; the daemon's start is information.
    check(any(line.startswith('<4>[warning]') and 'INSECURE' in line for line in lines),
          f'the --insecure warning is not at priority 4 (warning): {lines[:5]}')
    check(any(line.startswith('<6>[info]') for line in lines),
          f'no information line at priority 6 (info): {lines[:5]}')
    log(f'journal stream: {len(lines)} lines, each with its priority (<4> for the warning)')


def main(env):
    text = unit_text()
    check('Type=notify' in text and 'WatchdogSec=' in text, 'the unit is not Type=notify '
          'with a watchdog')
    verify(env, text)
    run_exec_start(env, text)


if __name__ == '__main__':
    rvgtest.run(main)
