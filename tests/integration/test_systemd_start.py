#!/usr/bin/python3
"""rvgadm start/stop through rvgd@.service (cli/rvgadm/systemd_unit.h),
without systemd as PID 1 (CI has none): RVG_SYSTEMD=1 stands in for
sd_booted(), RVG_UNIT_HOME makes the test's home the unit's home,
RVG_UNIT_PATH points at a copy of the built unit, and a fake `systemctl`
first on PATH records its arguments and, for start, runs the unit's
ExecStart (this build's rvgd) under a NOTIFY_SOCKET, returning at READY=1
as systemd does for Type=notify.

1. A primary: `rvgadm start RVG --mount DIR` runs exactly `systemctl start
   rvgd@RVG.service`, prints what a direct start prints, rvgd serves the
   mount; `rvgadm stop` stops rvgd and runs `systemctl stop
   rvgd@RVG.service`, also when rvgd is no longer running.
2. --metrics and --foreground are refused in one line (exit 1), systemctl
   not run; a failing systemctl is one line naming journalctl -u.
3. RVG_SYSTEMD=0, another home, an uninstalled unit, a non-root user:
   rvgd started and stopped directly, systemctl never run. A bad
   RVG_SYSTEMD value is an error. (RVG_SYSTEMD=0 differs from unset only
   where sd_booted() says yes: without systemd this case cannot tell.)
"""

import json
import os

import rvgtest
import test_systemd_unit
import test_unprivileged
from rvgsys import RVGADM, RVGD, check, log, mount_entry, pid_alive

FAKE_SYSTEMCTL = r'''#!/usr/bin/python3
import os, socket, subprocess, sys, time
ARGV = {argv}
with open({calls!r}, 'a') as f:
    f.write(' '.join(sys.argv[1:]) + '\n')
if os.environ.get('FAKE_SYSTEMCTL_FAIL'):
    sys.stderr.write('Job for %s failed because the control process exited with error '
                     'code.\nSee "systemctl status %s" for details.\n' % (sys.argv[2], sys.argv[2]))
    sys.exit(1)
verb, unit = sys.argv[1], sys.argv[2]
if verb != 'start':
    sys.exit(0)
rvg = unit[len('rvgd@'):-len('.service')]
path = {root!r} + '/notify-%d.sock' % os.getpid()
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(1)
argv = [a.replace('%i', rvg) for a in ARGV]
with open({root!r} + '/unit.log', 'ab') as out:
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                            start_new_session=True, env=dict(os.environ, NOTIFY_SOCKET=path))
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        if 'READY=1' in sock.recv(4096).decode().split('\n'):
            sys.exit(0)
    except socket.timeout:
        pass
    if proc.poll() is not None:
        sys.stderr.write('rvgd exited %d before READY=1\n' % proc.returncode)
        sys.exit(1)
sys.stderr.write('no READY=1 within 60 s\n')
sys.exit(1)
'''


class Fake:
    """The fake systemctl and the unit files it stands for."""

    def __init__(self, env, home):
        self.calls_path = os.path.join(env.root, 'systemctl.calls')
        open(self.calls_path, 'w').close()
        text = test_systemd_unit.unit_text()
        argv = [RVGD] + [a.replace('/var/lib/rvg', home)
                         for a in test_systemd_unit.exec_start(text)[1:]]
        bin_dir = os.path.join(env.root, 'fakebin')
        os.makedirs(bin_dir)
        path = os.path.join(bin_dir, 'systemctl')
        with open(path, 'w') as f:
            f.write(FAKE_SYSTEMCTL.format(argv=json.dumps(argv), calls=self.calls_path,
                                          root=env.root))
        os.chmod(path, 0o755)
        self.unit_dir = os.path.join(env.root, 'units')
        os.makedirs(self.unit_dir)
        with open(os.path.join(self.unit_dir, 'rvgd@.service'), 'w') as f:
            f.write(text)
        self.empty_dir = os.path.join(env.root, 'no-units')
        os.makedirs(self.empty_dir)
        os.environ.update(PATH=bin_dir + ':' + os.environ['PATH'], RVG_SYSTEMD='1',
                          RVG_UNIT_HOME=home, RVG_UNIT_PATH=self.unit_dir)

    def calls(self):
        with open(self.calls_path) as f:
            return f.read().splitlines()

    def expect(self, calls, what):
        got = self.calls()
        check(got == calls, f'{what}: systemctl calls {got}, expected {calls}')
        open(self.calls_path, 'w').close()


def one_line_error(cp, what, *words):
    lines = cp.stderr.strip().splitlines()
    check(cp.returncode == 1 and len(lines) == 1 and lines[0].startswith('rvgadm: error: '),
          f'{what}: exit {cp.returncode}, stderr {cp.stderr!r}: not one error line with exit 1')
    for word in words:
        check(word in lines[0], f'{what}: {word!r} missing from {lines[0]!r}')
    log(f'{what}: {lines[0]}')


def through_unit(p, fake):
    cp = p.rvgadm('start', p.rvg, '--mount', p.mountpoint)
    fake.expect(['start rvgd@rvg.service'], 'start')
    check(cp.stdout == f'RVG rvg started (primary, volumes mounted at {p.mountpoint})\n',
          f'start printed {cp.stdout!r}')
    pid = p.pid()
    check(pid and pid_alive(pid), 'no rvgd running after start through the unit')
    p.pids_seen.add(pid)
    check(mount_entry(p.mountpoint) is not None, 'the unit\'s rvgd did not mount --mount DIR')
    check(p.status()['mount'] == p.mountpoint, 'the mountpoint was not recorded')
    log(f'started through the unit: rvgd {pid} mounted {p.mountpoint}')

    one_line_error(p.rvgadm('start', p.rvg, check=False), 'start while running', 'already running')
    fake.expect([], 'start while running')

    p.stop()
    fake.expect(['stop rvgd@rvg.service'], 'stop')
    cp = p.rvgadm('stop', p.rvg)
    check(cp.stdout == 'RVG rvg is not running\n', f'second stop printed {cp.stdout!r}')
    fake.expect(['stop rvgd@rvg.service'], 'stop of a stopped RVG (cancels a pending restart)')

    # No --mount: the recorded mountpoint, as the unit's rvgd uses it.
    p.rvgadm('start', p.rvg)
    fake.expect(['start rvgd@rvg.service'], 'start without --mount')
    check(mount_entry(p.mountpoint) is not None, 'the recorded mountpoint was not mounted')
    p.pids_seen.add(p.pid())
    p.stop()
    fake.expect(['stop rvgd@rvg.service'], 'stop')


def refusals(p, fake):
    one_line_error(p.rvgadm('start', p.rvg, '--metrics', '127.0.0.1:9712', check=False),
                   '--metrics', 'RVGD_OPTS', '/etc/default/rvgd', 'systemctl edit',
                   'RVG_SYSTEMD=0')
    one_line_error(p.rvgadm('start', p.rvg, '--foreground', check=False), '--foreground',
                   'RVG_SYSTEMD=0')
    fake.expect([], 'refused starts')
    check(not p.status()['running'], 'a refused start left rvgd running')
    os.environ['FAKE_SYSTEMCTL_FAIL'] = '1'
    try:
        os.makedirs(p.mountpoint)
        one_line_error(p.rvgadm('start', p.rvg, '--mount', p.mountpoint, check=False),
                       'failing systemctl',
                       'systemctl start rvgd@rvg.service failed (exit 1): Job for',
                       'journalctl -u rvgd@rvg')
    finally:
        del os.environ['FAKE_SYSTEMCTL_FAIL']
    fake.expect(['start rvgd@rvg.service'], 'failing start')
    os.environ['RVG_SYSTEMD'] = 'yes'
    try:
        one_line_error(p.rvgadm('start', p.rvg, check=False), 'RVG_SYSTEMD=yes', 'RVG_SYSTEMD')
    finally:
        os.environ['RVG_SYSTEMD'] = '1'
    fake.expect([], 'bad RVG_SYSTEMD')


def direct(h, fake, what, mount=True):
    """Start and stop without the unit: the fake systemctl is never run."""
    pid = h.start(mount=mount)
    h.stop()
    fake.expect([], what)
    log(f'{what}: rvgd {pid} started and stopped directly')


def main(env):
    p = env.host('p')
    p.create_primary([('a', '4M')], srl='4M')
    fake = Fake(env, p.home)
    refusals(p, fake)
    through_unit(p, fake)

    os.environ['RVG_SYSTEMD'] = '0'
    direct(p, fake, 'RVG_SYSTEMD=0')
    os.environ['RVG_SYSTEMD'] = '1'
    os.environ['RVG_UNIT_PATH'] = fake.empty_dir
    direct(p, fake, 'rvgd@.service not installed')
    os.environ['RVG_UNIT_PATH'] = fake.unit_dir

    other = env.host('other')
    other.create_primary([('a', '4M')], srl='4M')
    direct(other, fake, 'another home')

    # A user in the unit's home (as RVG_UNIT_HOME says): the unit runs
    # rvgd as root, so a user's rvgadm starts its own.
    rvgtest.require_root('creating a user needs root')
    user = env.add_user()
    os.chmod(env.root, 0o755)
    u = env.host('u', user=user)
    u.rvgadm_path, u.rvgd_path = test_unprivileged.reachable_binaries(env, user, [RVGADM, RVGD])
    u.create_secondary([('a', '4M')], f'tcp://127.0.0.1:{rvgtest.free_port()}', '4M',
                       '--insecure', '--rvg-uuid', '0123abcd-0000-4000-8000-00000000cafe')
    os.environ['RVG_UNIT_HOME'] = u.home
    direct(u, fake, 'not root', mount=False)


if __name__ == '__main__':
    rvgtest.run(main)
