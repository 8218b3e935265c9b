"""Host: one rvg home (one "host") of an integration test, and the rvgadm
commands run against it.

Layout under the test's temp dir (short on purpose: ipc:// socket paths are
limited to ~100 characters):

    ROOT/NAME/home/        --home of this host (state.db, run/, log/)
    ROOT/NAME/VOL.img      the volumes' image files
    ROOT/NAME/srl          the SRL (every RVG has one, a secondary too)
    ROOT/NAME/mnt/         the primary's FUSE mountpoint (mnt/VOL = volume)

With `user`, every rvgadm command runs as that user through runuser.
"""

import json
import os
import signal

import rvgdata
from rvgsys import (RVGADM, RVGD, TestFailure, check, lazy_unmount, log, mount_entry,
                    pid_alive, pid_is_rvgd, run_cmd, wait_until, _tail)


class Host:
    def __init__(self, env, name, rvg='rvg', user=None):
        self.env = env
        self.name = name
        self.rvg = rvg
        self.user = user
        self.dir = os.path.join(env.root, name)
        self.home = os.path.join(self.dir, 'home')
        self.mountpoint = os.path.join(self.dir, 'mnt')
        self.srl_path = os.path.join(self.dir, 'srl')
        self.volumes = []     # [(name, image path, size in bytes)]
        self.listen = None    # a secondary's endpoint
        self.pids_seen = set()
        # Binaries to run; a test may point them at copies a user can reach.
        self.rvgadm_path, self.rvgd_path = RVGADM, RVGD
        os.makedirs(self.dir)
        self._give_to_user(self.dir)

    def _give_to_user(self, path):
        if self.user:
            run_cmd(['chown', f'{self.user}:', path])

    # -------------------------------------------------------------- rvgadm

    def argv(self, *args):
        argv = [self.rvgadm_path, '--home', self.home] + [str(a) for a in args]
        if self.user:
            return ['runuser', '-u', self.user, '--', 'env', f'RVGD={self.rvgd_path}'] + argv
        return argv

    def rvgadm(self, *args, check=True, timeout=120):
        """Runs rvgadm against this home; returns the CompletedProcess.
        check=True fails the test unless it exits 0."""
        argv = self.argv(*args)
        env = dict(os.environ, RVGD=self.rvgd_path)
        log(f'{self.name}$ rvgadm {" ".join(str(a) for a in args)}')
        cp = run_cmd(argv, check_rc=False, timeout=timeout, env=env, cwd=self.dir)
        if cp.returncode != 0:
            log(f'{self.name}: exit {cp.returncode}: {_tail(cp.stderr, 5)}')
            if check:
                raise TestFailure(f'host {self.name}: `rvgadm {" ".join(map(str, args))}` '
                                  f'exited {cp.returncode}\nstdout: {_tail(cp.stdout)}\n'
                                  f'stderr: {_tail(cp.stderr)}')
        return cp

    def _volume_args(self, volumes):
        self.volumes = [(n, os.path.join(self.dir, n + '.img'), rvgdata.parse_size(sz))
                        for n, sz in volumes]
        args = []
        for (n, path, _), (_, size_text) in zip(self.volumes, volumes):
            args += ['--volume', f'{n}={path}:{size_text}']
        return args

    def create_primary(self, volumes, srl='64M'):
        self.rvgadm('create', self.rvg, *self._volume_args(volumes),
                    '--srl', f'{self.srl_path}:{srl}', '--role', 'primary')

    def create_secondary(self, volumes, listen, srl='64M', *extra):
        """A secondary RVG; unpaired unless `extra` pins it (--primary-key
        KEY, or --insecure --rvg-uuid UUID)."""
        self.listen = listen
        self.rvgadm('create', self.rvg, *self._volume_args(volumes),
                    '--srl', f'{self.srl_path}:{srl}', '--role', 'secondary', '--listen', listen,
                    *extra)

    def pubkey(self):
        """This host's CURVE public key (rvgadm pubkey)."""
        return self.rvgadm('pubkey').stdout.strip()

    def secret_key(self):
        """This host's CURVE secret key, for a test peer that poses as it."""
        with open(os.path.join(self.home, 'curve.key')) as f:
            return f.read().strip()

    def addsec(self, secondary, insecure=False):
        """Adds the RLINK to `secondary` and pairs the two hosts the way an
        administrator does: each pins the other's `rvgadm pubkey` (the
        secondary only if nothing is pinned there yet). With `insecure`
        the RLINK opts out of CURVE instead (the secondary must have been
        created --insecure)."""
        pairing = ['--insecure'] if insecure else ['--peer-key', secondary.pubkey()]
        self.rvgadm('addsec', self.rvg, secondary.name, '--address', secondary.listen, *pairing)
        if not insecure and secondary.status().get('security') == 'unpaired':
            secondary.rvgadm('trust', secondary.rvg, self.pubkey())

    def start(self, mount=False, extra=()):
        """rvgadm start; returns once serving (a primary with `mount`: once
        ROOT/NAME/mnt is live). `extra`: more arguments for start."""
        args = ['start', self.rvg, *extra]
        if mount:
            os.makedirs(self.mountpoint, exist_ok=True)
            self._give_to_user(self.mountpoint)
            args += ['--mount', self.mountpoint]
        self.rvgadm(*args)
        pid = self.pid()
        check(pid and pid_alive(pid), f'host {self.name}: rvgadm start returned 0 but '
              f'no live rvgd pid in {self.pid_path} (pid file says {pid})')
        self.pids_seen.add(pid)
        if mount:
            check(mount_entry(self.mountpoint) is not None,
                  f'host {self.name}: rvgadm start --mount returned but nothing is '
                  f'mounted at {self.mountpoint}')
        log(f'{self.name}: rvgd running, pid {pid}')
        return pid

    def stop(self):
        """rvgadm stop: the daemon exits and the mount goes away."""
        pid = self.pid()
        self.rvgadm('stop', self.rvg)
        if pid:
            wait_until(lambda: not pid_alive(pid), 30, f'rvgd {pid} of host {self.name} exits '
                       'after rvgadm stop')
        check(mount_entry(self.mountpoint) is None,
              f'host {self.name}: {self.mountpoint} still mounted after rvgadm stop')

    def status(self, rvg=None):
        cp = self.rvgadm('status', rvg or self.rvg, '--json', timeout=60)
        try:
            return json.loads(cp.stdout)
        except ValueError as e:
            raise TestFailure(f'host {self.name}: status --json printed invalid JSON ({e}):\n'
                              f'{_tail(cp.stdout)}')

    def drain(self, timeout=120):
        self.rvgadm('drain', self.rvg, '--timeout', timeout, timeout=timeout + 60)

    def wait_session(self, timeout=60):
        """On a secondary: waits until a primary holds a session with this
        rvgd (after a restart, the primary may still count an old session
        as connected until the secondary refuses it)."""
        wait_until(lambda: self.status().get('primary_session'), timeout,
                   f'secondary {self.name} has a session with its primary', interval=0.05)

    def wait_connected(self, timeout=60):
        last = {}

        def connected():
            last['s'] = self.status()
            rlinks = last['s'].get('rlinks') or []
            return rlinks and all(r.get('state') == 'connected' for r in rlinks)
        wait_until(connected, timeout, f'every RLINK of host {self.name} is connected',
                   interval=0.2, state=lambda: [(r.get('name'), r.get('state'))
                                                for r in last['s'].get('rlinks') or []])

    # ----------------------------------------------------------- processes

    @property
    def pid_path(self):
        return os.path.join(self.home, 'run', self.rvg + '.pid')

    @property
    def log_path(self):
        return os.path.join(self.home, 'log', self.rvg + '.log')

    def pid(self):
        try:
            with open(self.pid_path) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def alive(self):
        pid = self.pid()
        return bool(pid) and pid_alive(pid) and pid_is_rvgd(pid)

    def _signal(self, sig):
        pid = self.pid()
        check(pid and pid_alive(pid) and pid_is_rvgd(pid),
              f'host {self.name}: no live rvgd to signal (pid file says {pid})')
        os.kill(pid, sig)
        return pid

    def kill9(self):
        """SIGKILL of rvgd, as a crash; returns once it is gone."""
        pid = self._signal(signal.SIGKILL)
        log(f'{self.name}: SIGKILL rvgd {pid}')
        wait_until(lambda: not pid_alive(pid), 30, f'rvgd {pid} dies of SIGKILL')

    def freeze(self):
        """SIGSTOP of rvgd; returns once every thread is stopped."""
        pid = self._signal(signal.SIGSTOP)
        wait_until(lambda: _all_threads_stopped(pid), 10, f'rvgd {pid} stops on SIGSTOP',
                   interval=0.005)

    def cont(self):
        for pid in self.pids_seen | {self.pid() or 0}:
            if pid and pid_alive(pid) and pid_is_rvgd(pid):
                os.kill(pid, signal.SIGCONT)

    # -------------------------------------------------------------- files

    def image(self, volume):
        return dict((n, p) for n, p, _ in self.volumes)[volume]

    def mounted(self, volume):
        return os.path.join(self.mountpoint, volume)

    def write_plan(self, model, plan):
        """Writes `plan` (rvgdata writes, contents from `model`) through this
        primary's mount, each write whole, then fsyncs every volume."""
        fds = [os.open(self.mounted(n), os.O_RDWR) for n, _, _ in self.volumes]
        try:
            for w in plan:
                data = model.apply(w)
                n = os.pwrite(fds[w.volume], data, w.offset)
                check(n == len(data), f'{w}: pwrite wrote {n} of {len(data)} bytes')
            for fd in fds:
                os.fsync(fd)
        finally:
            for fd in fds:
                os.close(fd)

    def log_tail(self, lines=60):
        try:
            with open(self.log_path, errors='replace') as f:
                return _tail(f.read(), lines)
        except OSError as e:
            return f'(no log: {e})'

    def log_text(self):
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    # ------------------------------------------------------------ cleanup

    def shutdown(self):
        """Stops this host's rvgd whatever state it is in and removes its
        mount. Returns the problems seen (an unclean stop, a leftover mount)."""
        problems = []
        pid = self.pid()
        if pid and pid_alive(pid) and pid_is_rvgd(pid):
            os.kill(pid, signal.SIGCONT)
            cp = self.rvgadm('stop', self.rvg, check=False, timeout=60)
            try:
                wait_until(lambda: not pid_alive(pid), 20, 'rvgd exits')
                if cp.returncode != 0:
                    problems.append(f'rvgadm stop exited {cp.returncode}: {_tail(cp.stderr, 3)}')
            except TestFailure:
                problems.append(f'rvgd {pid} still running 20s after rvgadm stop; SIGKILL')
        for old in self.pids_seen | ({pid} if pid else set()):
            if pid_alive(old) and pid_is_rvgd(old):
                os.kill(old, signal.SIGKILL)
                problems.append(f'rvgd {old} had to be killed')
        if mount_entry(self.mountpoint) is not None:
            problems.append(f'{self.mountpoint} was still mounted; lazily unmounted')
            try:
                lazy_unmount(self.mountpoint)
            except TestFailure as e:
                problems.append(str(e))
        return problems


def _all_threads_stopped(pid):
    try:
        tids = os.listdir(f'/proc/{pid}/task')
    except OSError:
        return False
    for tid in tids:
        try:
            with open(f'/proc/{pid}/task/{tid}/stat') as f:
                if f.read().rsplit(')', 1)[1].split()[0] not in ('T', 't'):
                    return False
        except OSError:
            continue
    return True
