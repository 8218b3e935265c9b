#!/usr/bin/python3
"""One daemon per RVG, one writer per SRL and image.

- A second rvgd for a running RVG is refused, naming the running one.
- An rvgd of another RVG (another home) given a running secondary's image
  is refused at start, naming the image and the rvgd that holds it; the
  image is not written.
- While another process holds a flock on the primary's SRL, the primary
  does not start, and the error names the SRL and that process.
- After a clean stop the pid file is still there, empty (it is never
  unlinked: that was the race that let two daemons run).
"""

import fcntl
import os

import rvgdata
import rvgtest
from rvgsys import free_port
from rvgtest import check, log, wait_until

VOLUMES = [('data', '8M')]


def expect_failure(host, *args, mentions=()):
    cp = host.rvgadm(*args, check=False, timeout=60)
    what = f'`rvgadm {" ".join(map(str, args))}` on host {host.name}'
    check(cp.returncode == 1, f'{what} exited {cp.returncode}, expected 1; stderr {cp.stderr!r}')
    for text in mentions:
        check(text in cp.stderr, f'{what}: stderr does not mention {text!r}: {cp.stderr!r}')
    log(f'{what}: refused: {cp.stderr.strip()}')


def second_rvgd_refused(p):
    pid = p.pid()
    cp = rvgtest.run_cmd([p.rvgd_path, '--home', p.home, '--mount', p.mountpoint, p.rvg],
                         check_rc=False, timeout=60)
    check(cp.returncode != 0, f'a second rvgd for RVG {p.rvg} exited 0')
    check('already running' in cp.stderr and f'pid {pid}' in cp.stderr,
          f'a second rvgd: stderr does not name the running one (pid {pid}): {cp.stderr!r}')
    check(p.pid() == pid and p.alive(), 'a refused second rvgd disturbed the first')


def shared_image_refused(env, p, s):
    q = env.host('q')
    image = s.image('data')
    before = rvgdata.sha256_file(image)
    q.rvgadm('create', q.rvg, '--volume', f'data={image}:8M', '--srl', f'{q.srl_path}:16M',
             '--role', 'secondary', '--listen', f'tcp://127.0.0.1:{free_port()}',
             '--primary-key', p.pubkey())  # paired, so start gets as far as the image
    expect_failure(q, 'start', q.rvg, mentions=(image, f'pid {s.pid()} (rvgd)'))
    check(rvgdata.sha256_file(image) == before, 'a refused rvgd changed the image it was refused')
    wait_until(lambda: not q.alive(), 30, 'the rvgd refused the image exits')


def locked_srl_refused(p):
    p.stop()
    check(os.path.exists(p.pid_path), 'the pid file was unlinked at stop')
    check(os.path.getsize(p.pid_path) == 0, 'the pid file still names a pid after a clean stop')
    fd = os.open(p.srl_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        expect_failure(p, 'start', p.rvg, '--mount', p.mountpoint,
                       mentions=(p.srl_path, f'pid {os.getpid()} ('))
        # The refused rvgd reported its error and is on its way out.
        wait_until(lambda: not p.alive(), 30, 'the rvgd refused the locked SRL exits')
    finally:
        os.close(fd)
    p.start(mount=True)


def main(env):
    p, s = env.pair(VOLUMES, srl='16M')
    second_rvgd_refused(p)
    shared_image_refused(env, p, s)
    locked_srl_refused(p)
    p.wait_connected()


if __name__ == '__main__':
    rvgtest.run(main)
