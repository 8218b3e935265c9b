"""Harness for rvg's integration tests: real rvgd/rvgadm processes on
loopback, one temp dir per test, and a cleanup that always runs.

A test script is

    import rvgtest
    def main(env): ...
    rvgtest.run(main)

`env` (an Env) owns everything the test makes: the temp dir under /tmp,
Host objects (one home each = one host), writer subprocesses, loop devices,
ext4 mounts and users. Whatever happens -- success, failure, an exception,
SIGTERM from meson's timeout, SIGINT -- Env.cleanup() stops the daemons of
its own homes (rvgadm stop, then SIGKILL of the pids they recorded), lazily
unmounts its own mountpoints, detaches its loop devices, deletes its users
and removes the temp dir. Nothing outside what the test made is touched.
If the test process itself is SIGKILLed (meson does that 0.5 s after the
SIGTERM of a timeout), a guardian process it forked at the start does the
same from what it finds under the temp dir (rvgsys.start_guardian).

Exit status: 0 pass, 1 fail (the reason and the rvgd log tails are printed),
77 skip (only for tests that need root, when not root).

Environment: RVG_BUILD is the meson build dir holding cli/rvgadm/rvgadm and
cli/rvgd/rvgd.
"""

import atexit
import os
import pwd
import signal
import subprocess
import sys
import tempfile
import traceback

# Tests use these through rvgtest (rvgtest.check, rvgtest.wait_until, ...).
from rvgsys import (BUILD, EXIT_FAIL, EXIT_PASS, EXIT_SKIP, HERE, RVGADM, RVGD,
                    TestFailure, TestInterrupted, TestSkipped, _tail, check, free_port,
                    lazy_unmount, log, mount_entry, pid_alive, remove_tree, require_root,
                    run_cmd, start_guardian, wait_until)
from host import Host
import rvgdata

__all__ = ['BUILD', 'RVGADM', 'RVGD', 'HERE', 'Env', 'Host', 'TestFailure', 'TestSkipped',
           'assert_images_identical', 'check', 'check_status_shape', 'free_port', 'lazy_unmount',
           'log', 'mount_entry', 'read_durable', 'require_root', 'run', 'run_cmd', 'wait_until']


# ---------------------------------------------------------------------- env

class Env:
    """Everything one test made, and the cleanup of all of it."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix='rvgt-', dir='/tmp')
        self.hosts = []
        self.procs = []        # writer subprocesses (Popen)
        self.loops = []        # loop devices we attached
        self.fs_mounts = []    # ext4 (or other) mounts we made
        self.users = []        # users we created
        self.restores = []     # (what, fn): undo a change to the machine
        self._cleaned = False
        self.users_file = os.path.join(self.root, 'users')
        log(f'temp dir {self.root}')
        start_guardian(self.root, self.users_file)

    # -- things a test makes

    def host(self, name, rvg='rvg', user=None):
        h = Host(self, name, rvg=rvg, user=user)
        self.hosts.append(h)
        return h

    def pair(self, volumes, srl='64M', start=True):
        """A primary 'p' and a secondary 's' of RVG 'rvg' with `volumes`
        [(name, size)], the RLINK p->s added; when `start`, both running,
        the primary mounted, the RLINK connected."""
        p, s = self.host('p'), self.host('s')
        s.create_secondary(volumes, listen=f'tcp://127.0.0.1:{free_port()}')
        p.create_primary(volumes, srl=srl)
        p.addsec(s)
        if start:
            s.start()
            p.start(mount=True)
            p.wait_connected()
        return p, s

    def spawn(self, argv, **kwargs):
        """A subprocess killed by cleanup if still running."""
        log('spawn: ' + ' '.join(argv))
        proc = subprocess.Popen(argv, **kwargs)
        self.procs.append(proc)
        return proc

    def writer(self, *args, user=None):
        """Runs writer.py with `args` (see its docstring), output to a file
        in the temp dir; returns the Popen, with .output_path."""
        out_path = os.path.join(self.root, f'writer{len(self.procs)}.out')
        argv = [sys.executable, os.path.join(HERE, 'writer.py')] + [str(a) for a in args]
        if user:
            argv = ['runuser', '-u', user, '--'] + argv
        with open(out_path, 'w') as out:
            proc = self.spawn(argv, stdout=out, stderr=subprocess.STDOUT)
        proc.output_path = out_path
        return proc

    def block_writer(self, primary, seed, rate=1500):
        """writer.py in 'blocks' mode on every volume of `primary`'s mount:
        non-overlapping numbered blocks, recording how far they are durable.
        Returns (Popen, path of the durable-count file)."""
        durable_file = os.path.join(self.root, 'durable')
        proc = self.writer('blocks', seed, '--rate', rate, '--durable', durable_file,
                           *[primary.mounted(n) for n, _, _ in primary.volumes])
        return proc, durable_file

    def wait_writer(self, proc, timeout):
        """Waits for a writer.py process; returns (exit status, writes done)."""
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure(f'writer pid {proc.pid} still running after {timeout}s')
        with open(proc.output_path, errors='replace') as f:
            lines = f.read().splitlines()
        done = [int(line.split()[1]) for line in lines if line.startswith('done ')]
        check(done, f'writer exited {rc} without a `done N` line: {_tail(chr(10).join(lines))}')
        log(f'writer exited {rc} after {done[-1]} writes')
        return rc, done[-1]

    def attach_loop(self, path):
        dev = run_cmd(['losetup', '-f', '--show', path]).stdout.strip()
        self.loops.append(dev)
        log(f'loop device {dev} on {path}')
        return dev

    def detach_loop(self, dev):
        run_cmd(['losetup', '-d', dev])
        self.loops.remove(dev)

    def mount_fs(self, source, target, options=None):
        os.makedirs(target, exist_ok=True)
        argv = ['mount'] + (['-o', options] if options else []) + [source, target]
        run_cmd(argv)
        self.fs_mounts.append(target)

    def unmount_fs(self, target):
        run_cmd(['umount', target])
        self.fs_mounts.remove(target)

    def add_user(self, prefix='rvgtest'):
        """A new user with no home and no shell, deleted by cleanup."""
        while True:
            name = prefix + os.urandom(3).hex()
            try:
                pwd.getpwnam(name)
            except KeyError:
                break
        with open(self.users_file, 'a') as f:  # before useradd, for the guardian
            f.write(name + '\n')
        cp = run_cmd(['useradd', '-M', '-s', '/usr/sbin/nologin', name], check_rc=False)
        if cp.returncode != 0:
            with open(self.users_file, 'w') as f:
                f.write(''.join(u + '\n' for u in self.users))
            raise TestFailure(f'useradd {name} failed: {cp.stderr.strip()}')
        self.users.append(name)
        log(f'created user {name}')
        return name

    def on_cleanup(self, what, fn):
        """fn() runs at cleanup, after the daemons stopped and users went."""
        self.restores.append((what, fn))

    # -- failure reports and cleanup

    def report(self):
        """Printed when a test fails: what each host's rvgd was doing."""
        for h in self.hosts:
            pid = h.pid()
            print(f'--- host {h.name}: home {h.home}, pid file {pid}, '
                  f'alive {bool(pid) and pid_alive(pid)}', flush=True)
            print(h.log_tail(80), flush=True)
        for proc in self.procs:
            path = getattr(proc, 'output_path', None)
            if path and os.path.exists(path):
                with open(path, errors='replace') as f:
                    print(f'--- {path}:\n{_tail(f.read(), 30)}', flush=True)

    def cleanup(self):
        """Undoes everything, in dependency order; runs once. Returns the
        problems found (a daemon that did not stop cleanly, a mount left)."""
        if self._cleaned:
            return []
        self._cleaned = True
        problems = []

        def attempt(what, fn):
            try:
                fn()
            except Exception as e:  # cleanup goes on whatever fails
                problems.append(f'{what}: {e}')

        for h in self.hosts:      # a stopped daemon would block all below
            attempt(f'SIGCONT {h.name}', h.cont)
        for proc in self.procs:
            if proc.poll() is None:
                attempt('kill writer', proc.kill)
                attempt('wait writer', lambda: proc.wait(timeout=30))
        for target in reversed(list(self.fs_mounts)):
            attempt(f'unmount {target}', lambda: _umount_or_lazy(target))
        for dev in reversed(list(self.loops)):
            attempt(f'detach {dev}', lambda: run_cmd(['losetup', '-d', dev], timeout=60))
        for h in reversed(self.hosts):
            for problem in h.shutdown():
                problems.append(f'host {h.name}: {problem}')
        for user in self.users:
            attempt(f'userdel {user}', lambda: _userdel(user))
        for what, fn in reversed(self.restores):
            attempt(what, fn)
        attempt(f'remove {self.root}', lambda: remove_tree(self.root))
        for p in problems:
            log(f'cleanup: {p}')
        return problems


def read_durable(path):
    """The last count a writer.py `blocks` run recorded as durable (0 if none)."""
    try:
        with open(path) as f:
            lines = f.read().split()
    except FileNotFoundError:
        return 0
    return int(lines[-1]) if lines else 0


def assert_images_identical(primary, secondary):
    """Every volume image of `secondary` has the bytes of the primary's."""
    for name, path, size in primary.volumes:
        other = secondary.image(name)
        problem = rvgdata.compare_files(path, other)
        check(problem is None, f'volume {name}: secondary image differs from the primary\'s: {problem}')
        log(f'volume {name}: {size} bytes identical on {primary.name} and {secondary.name}')


def assert_images_hold(host, model, what):
    """Every volume image of `host` holds `model`'s bytes."""
    for i, (_, path, _) in enumerate(host.volumes):
        rvgdata.compare_file_to_bytes(path, bytes(model.volumes[i]))
    log(f'{host.name}: every image holds {what}, byte for byte')


STATUS_KEYS = ('rvg', 'role', 'running', 'pid', 'mount', 'generation', 'consistent',
               'last_seq', 'applied_seq', 'volumes', 'srl', 'flags', 'rlinks')
RLINK_KEYS = ('name', 'address', 'synchronous', 'latencyprot', 'srlprot', 'state', 'sent_seq',
              'net_acked_seq', 'data_acked_seq', 'writes_behind', 'bytes_behind', 'resync',
              'bandwidth_limit', 'seconds_behind', 'srl_used_bytes', 'sending_from')


def check_status_shape(status, host):
    """status --json has every field DESIGN.md promises, and the volumes
    the host was created with."""
    missing = [k for k in STATUS_KEYS if k not in status]
    check(not missing, f'host {host.name}: status --json lacks {missing}: {status}')
    for rlink in status['rlinks']:
        missing = [k for k in RLINK_KEYS if k not in rlink]
        check(not missing, f'host {host.name}: status --json rlink lacks {missing}: {rlink}')
    got = [(v.get('name'), os.path.abspath(v.get('path', '')), v.get('size'))
           for v in status['volumes']]
    check(got == host.volumes, f'host {host.name}: status volumes {got}, created {host.volumes}')
    check(status['rvg'] == host.rvg, f'host {host.name}: status rvg is {status["rvg"]!r}')


def _umount_or_lazy(target):
    if subprocess.run(['umount', target], capture_output=True, timeout=60).returncode != 0:
        run_cmd(['umount', '-l', target], timeout=60)


def _userdel(user):
    if subprocess.run(['userdel', user], capture_output=True, timeout=60).returncode != 0:
        run_cmd(['userdel', '-f', user], timeout=60)


def check_build():
    for path in (RVGADM, RVGD):
        if not os.access(path, os.X_OK):
            raise TestFailure(f'{path} is not built: run `ninja -C {BUILD}` first '
                              f'(RVG_BUILD={BUILD})')


def run(main):
    """Runs main(env) and exits 0 (pass), 1 (fail) or 77 (skip)."""
    env = None
    code = EXIT_FAIL

    def on_signal(signum, _frame):
        raise TestInterrupted(f'killed by signal {signum}')
    signal.signal(signal.SIGTERM, on_signal)
    name = os.path.basename(sys.argv[0])
    try:
        check_build()
        env = Env()
        atexit.register(env.cleanup)
        main(env)
        code = EXIT_PASS
    except TestSkipped as e:
        print(f'SKIP {name}: {e}', flush=True)
        code = EXIT_SKIP
    except TestFailure as e:
        print(f'FAIL {name}: {e}', flush=True)
        print(''.join(traceback.format_tb(e.__traceback__)[-3:]), flush=True)
    except BaseException as e:  # noqa: B036 -- report anything, then clean up
        print(f'FAIL {name}: {type(e).__name__}: {e}', flush=True)
        traceback.print_exc()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if env is not None:
            if code == EXIT_FAIL:
                env.report()
            problems = env.cleanup()
            if code == EXIT_PASS and problems:
                print(f'FAIL {name}: the test passed but cleanup found problems:\n  '
                      + '\n  '.join(problems), flush=True)
                code = EXIT_FAIL
    if code == EXIT_PASS:
        print(f'PASS {name}', flush=True)
    sys.stdout.flush()
    os._exit(code)
