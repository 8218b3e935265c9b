#!/usr/bin/python3
"""A small SRL under pressure: a group commit larger than the log, and a
stop while writers wait for space.

1. Six threads write 1 MiB each, over and over, through the mount of a
   primary whose SRL is the minimum 4 MiB: one group commit can be larger
   than the whole log. Every write completes, and after a drain the
   secondary is byte-identical to the primary.
2. With the RLINK paused and srlprot=dcm (a connected RLINK under dcm
   stalls writes rather than switch to its bitmap), nothing frees the SRL:
   a writer process fills it and blocks (in the kernel: it cannot even be
   killed while rvgd holds its request). status shows srl.full; `rvgadm stop` completes within 10 s:
   the blocked write fails with EIO (it was never acknowledged), the writer
   lets go of the volume, the mount is gone. Restarted, everything fsynced
   before is intact and reaches the secondary.
"""

import os
import subprocess
import sys
import threading
import time

import rvgtest
from rvgtest import check, log, wait_until

VOLUMES = [('a', '16M')]
MIB = 1 << 20


def six_writers(p):
    """Six threads, eight 1 MiB writes each, to distinct 1 MiB slots."""
    errors = []
    path = p.mounted('a')

    def write(t):
        try:
            fd = os.open(path, os.O_WRONLY)
            try:
                for i in range(8):
                    data = bytes([t * 16 + i]) * MIB
                    check(os.pwrite(fd, data, ((t + i) % 16) * MIB) == MIB, 'short write')
                os.fsync(fd)
            finally:
                os.close(fd)
        except Exception as e:  # reported below
            errors.append(f'writer {t}: {e}')

    threads = [threading.Thread(target=write, args=(t,), daemon=True) for t in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    for t in threads:
        t.join(max(0, deadline - time.monotonic()))
    hung = sum(t.is_alive() for t in threads)
    check(hung == 0, f'{hung} of 6 writers of 1 MiB into a 4 MiB SRL still blocked after '
          f'120 s (group commit waiting for space only it holds?)')
    check(not errors, f'writes failed: {errors}')
    log('six writers of 8 x 1 MiB through a 4 MiB SRL completed')


def timed_stop(p):
    """rvgadm stop; returns (CompletedProcess, seconds it took)."""
    t0 = time.monotonic()
    cp = p.rvgadm('stop', p.rvg, check=False, timeout=60)
    return cp, time.monotonic() - t0


def stop_while_blocked(env, p, s):
    p.rvgadm('set', p.rvg, 's', 'srlprot=dcm')
    p.rvgadm('pauserep', p.rvg, 's')
    fsynced = os.path.join(env.root, 'fsynced')
    # A writer that fsyncs after every 256 KiB and records how far it got,
    # then keeps writing into a log nobody drains.
    code = (
        'import os, sys\n'
        'fd = os.open(sys.argv[1], os.O_WRONLY)\n'
        'for i in range(64):\n'
        '    os.pwrite(fd, bytes([i + 1]) * 262144, i * 262144)\n'
        '    os.fsync(fd)\n'
        '    open(sys.argv[2], "a").write(f"{i + 1}\\n")\n')
    writer = env.spawn([sys.executable, '-c', code, p.mounted('a'), fsynced],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    full = wait_until(lambda: (p.status().get('srl') or {}).get('full'), 60,
                      'status shows the SRL full while the RLINK is paused')
    check(full is True, 'srl.full is not true')
    check(writer.poll() is None, f'the writer ended ({writer.returncode}) instead of blocking')
    log('SRL full, writer blocked')

    pid = p.pid()
    cp, took = timed_stop(p)
    check(cp.returncode == 0, f'rvgadm stop with a writer blocked on the full SRL: exit '
          f'{cp.returncode}, {cp.stderr!r}')
    check(took < 10, f'rvgadm stop took {took:.1f}s with a writer blocked on a full SRL')
    wait_until(lambda: not rvgtest.pid_alive(pid), 10, 'rvgd exits after stop')
    check(rvgtest.mount_entry(p.mountpoint) is None, 'mount left after stop')
    rc = writer.wait(timeout=30)
    check(rc != 0, 'the blocked writer finished without an error although its write was '
          'abandoned')
    log(f'stop completed in {took:.1f}s; the blocked writer got an error (exit {rc})')

    with open(fsynced) as f:
        durable = len(f.read().split())
    check(durable >= 1, 'the writer recorded no fsynced write')
    p.start(mount=True)
    with open(p.mounted('a'), 'rb') as f:
        for i in range(durable):
            f.seek(i * 262144)
            got = f.read(262144)
            check(got == bytes([i + 1]) * 262144, f'fsynced write #{i + 1} of {durable} lost '
                  'after a stop with blocked writers')
    log(f'all {durable} fsynced writes intact after restart')
    p.rvgadm('resumerep', p.rvg, 's')
    p.wait_connected()
    p.drain(timeout=180)
    rvgtest.assert_images_identical(p, s)


def main(env):
    p, s = env.pair(VOLUMES, srl='4M')
    six_writers(p)
    p.drain(timeout=180)
    rvgtest.assert_images_identical(p, s)
    stop_while_blocked(env, p, s)
    p.stop()
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
