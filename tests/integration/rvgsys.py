"""System helpers for rvg's integration tests: logging, polling with a
deadline, running commands, processes and the mount table. Standard library
only; used by host.py and rvgtest.py.
"""

import os
import re
import shutil
import socket
import subprocess
import time

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77

BUILD = os.path.abspath(os.environ.get('RVG_BUILD', 'build'))
RVGADM = os.path.join(BUILD, 'cli', 'rvgadm', 'rvgadm')
RVGD = os.path.join(BUILD, 'cli', 'rvgd', 'rvgd')
HERE = os.path.dirname(os.path.abspath(__file__))

_T0 = time.monotonic()


class TestFailure(Exception):
    """The system under test did something wrong; the message says what."""


class TestSkipped(Exception):
    pass


class TestInterrupted(BaseException):
    """SIGTERM (meson's timeout): unwinds through finally blocks."""


def log(msg):
    print(f'[{time.monotonic() - _T0:7.2f}s] {msg}', flush=True)


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def require_root(why):
    if os.geteuid() != 0:
        raise TestSkipped(f'needs root ({why}); running as uid {os.geteuid()}')


def wait_until(predicate, timeout, what, interval=0.05, state=None):
    """Polls predicate() until it returns a true value (which is returned).
    On timeout fails with 'timed out ... waiting until WHAT', plus state()
    (the last thing seen) when given."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            msg = f'timed out after {timeout:g}s waiting until {what}'
            if state is not None:
                msg += f' (last seen: {state()})'
            raise TestFailure(msg)
        time.sleep(interval)


_ports_given = set()


def free_port():
    """A TCP port on 127.0.0.1 free right now and not handed out before."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port


def run_cmd(argv, check_rc=True, timeout=120, **kwargs):
    """subprocess.run with text output; check_rc=True fails the test with
    the command, its exit status and output when it does not exit 0."""
    try:
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired as e:
        raise TestFailure(f'command did not finish within {timeout}s: {" ".join(argv)}\n'
                          f'stdout: {_tail(e.stdout)}\nstderr: {_tail(e.stderr)}')
    if check_rc and cp.returncode != 0:
        raise TestFailure(f'command failed with exit {cp.returncode}: {" ".join(argv)}\n'
                          f'stdout: {_tail(cp.stdout)}\nstderr: {_tail(cp.stderr)}')
    return cp


def _tail(text, lines=20):
    if text is None:
        return ''
    if isinstance(text, bytes):
        text = text.decode(errors='replace')
    return '\n'.join(text.rstrip().splitlines()[-lines:])


# ---------------------------------------------------------------- processes

def pid_alive(pid):
    """True if `pid` exists and is not a zombie."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != 'Z'


def pid_is_rvgd(pid):
    """Guards every kill: a recorded pid may have been reused since."""
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            argv0 = f.read().split(b'\0')[0]
    except OSError:
        return False
    return os.path.basename(argv0) == b'rvgd'


# ------------------------------------------------------------------- mounts

def _unescape(field):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), field)


def mount_table():
    """[(source, mountpoint, fstype, options)] from /proc/self/mounts."""
    rows = []
    with open('/proc/self/mounts') as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 4:
                rows.append((_unescape(parts[0]), _unescape(parts[1]), parts[2], parts[3]))
    return rows


def mount_entry(path):
    """The (source, mountpoint, fstype, options) mounted at `path`, or None.
    Uses the mount table, not stat: a dead FUSE mount fails every stat."""
    path = os.path.abspath(path)
    found = None
    for row in mount_table():
        if row[1] == path:
            found = row  # the last one is the one on top
    return found


def mounts_under(directory):
    directory = os.path.abspath(directory).rstrip('/') + '/'
    return [row[1] for row in mount_table() if (row[1] + '/').startswith(directory)]


def lazy_unmount(path):
    """Detaches whatever is mounted at `path` (FUSE, dead or alive, or any
    other filesystem). Returns True if something had to be unmounted."""
    if mount_entry(path) is None:
        return False
    for argv in (['fusermount3', '-u', '-z', path], ['umount', '-l', path]):
        if mount_entry(path) is None:
            break
        subprocess.run(argv, capture_output=True, timeout=30)
    if mount_entry(path) is not None:
        raise TestFailure(f'could not unmount {path}')
    return True


def remove_tree(root):
    """rm -rf, but never through a mountpoint: removing files through a
    live mount would delete someone's data."""
    leftover = mounts_under(root)
    for path in sorted(leftover, key=len, reverse=True):
        try:
            lazy_unmount(path)
        except TestFailure:
            pass
    leftover = mounts_under(root)
    if leftover:
        raise TestFailure(f'not removing {root}: still mounted: {", ".join(leftover)}')
    shutil.rmtree(root, ignore_errors=True)


# ----------------------------------------------------------------- guardian

def start_guardian(root, users_file):
    """Forks a process, in a session of its own, that outlives the test: if
    the test process dies before it removed `root` (meson sends SIGKILL
    0.5 s after the SIGTERM of a timeout), the guardian undoes what lives
    under `root`: SIGKILL of rvgd pids found in its homes' pid files, lazy
    unmount of mounts under it, detach of loop devices backed by files under
    it, userdel of the users listed in `users_file`, rm -rf."""
    parent = os.getpid()
    if os.fork() != 0:
        return
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # meson waits for EOF on the test's stdout
            os.dup2(devnull, fd)
        while os.getppid() == parent:
            time.sleep(0.2)
        if os.path.isdir(root):
            _salvage(root, users_file)
    finally:
        os._exit(0)


def _salvage(root, users_file):
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if name.endswith('.pid') and os.path.basename(dirpath) == 'run':
                try:
                    with open(os.path.join(dirpath, name)) as f:
                        pid = int(f.read().split()[0])
                    if pid_alive(pid) and pid_is_rvgd(pid):
                        os.kill(pid, 9)
                except (OSError, ValueError, IndexError):
                    pass
    for path in sorted(mounts_under(root), key=len, reverse=True):
        subprocess.run(['umount', '-l', path], capture_output=True, timeout=30)
        subprocess.run(['fusermount3', '-u', '-z', path], capture_output=True, timeout=30)
    listing = subprocess.run(['losetup', '-l', '-n', '-O', 'NAME,BACK-FILE'],
                             capture_output=True, text=True, timeout=30).stdout
    for line in listing.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[1].strip().startswith(root + '/'):
            subprocess.run(['losetup', '-d', parts[0]], capture_output=True, timeout=30)
    try:
        with open(users_file) as f:
            for user in f.read().split():
                subprocess.run(['userdel', '-f', user], capture_output=True, timeout=30)
    except OSError:
        pass
    if not mounts_under(root):
        shutil.rmtree(root, ignore_errors=True)
