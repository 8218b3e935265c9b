#!/usr/bin/python3
"""SIGKILL of the primary's rvgd in the middle of a burst of writes.

A writer process writes numbered 4 KiB blocks (never the same block twice)
and records, after every 16 writes and an fsync, how many are durable. The
primary dies; the writer gets errors and stops. After `rvgadm start` with
the same mountpoint, every block recorded durable is intact through the
mount, no block holds anything but its own data or zeros, and after a
drain the secondary is byte-identical to the primary.
"""

import os

import rvgdata
import rvgtest
from rvgtest import check, log, wait_until

VOLUMES = [('a', '24M'), ('b', '24M')]
SEED = 22
BLOCK = 4096


def check_blocks(host, durable, written, through_mount):
    """Blocks < durable hold their data; every other block holds its data
    or zeros (a write answered but not yet synced may be lost in a crash)."""
    zero = bytes(BLOCK)
    paths = [host.mounted(n) if through_mount else p for n, p, _ in host.volumes]
    fds = [os.open(path, os.O_RDONLY) for path in paths]
    try:
        capacity = min(size for _, _, size in host.volumes) // BLOCK * len(fds)
        for i in range(min(capacity, written + 64)):
            w = rvgdata.block_write(i, len(fds), BLOCK)
            got = os.pread(fds[w.volume], BLOCK, w.offset)
            want = rvgdata.pattern(SEED, i, BLOCK)
            if got == want:
                continue
            where = f'block #{i} (volume {host.volumes[w.volume][0]} offset {w.offset})'
            check(i >= durable, f'{where} was recorded durable but holds '
                  f'{"zeros" if got == zero else rvgdata.describe_at(lambda o, n: got[o:o + n], 0)}')
            check(got == zero, f'{where} (not durable) holds neither its data nor zeros: '
                  f'{rvgdata.describe_at(lambda o, n: got[o:o + n], 0)}')
    finally:
        for fd in fds:
            os.close(fd)


def main(env):
    p, s = env.pair(VOLUMES, srl='128M')
    writer, durable_file = env.block_writer(p, SEED)
    wait_until(lambda: rvgtest.read_durable(durable_file) >= 1024, 60,
               'the writer has recorded 1024 durable writes',
               state=lambda: f'{rvgtest.read_durable(durable_file)} durable, '
                             f'writer exit {writer.poll()}')
    p.kill9()
    rc, written = env.wait_writer(writer, 60)
    check(rc == 3, f'writer exited {rc} after the primary died; expected it to stop on an I/O error')
    durable = rvgtest.read_durable(durable_file)
    log(f'primary killed: {written} writes answered, {durable} recorded durable')

    p.start(mount=True)
    st = p.status()
    check(st['last_seq'] >= durable,
          f'after restart last_seq {st["last_seq"]} < {durable} writes recorded durable')
    check_blocks(p, durable, written, through_mount=True)
    log(f'primary after restart: all {durable} durable blocks intact through the mount')

    p.wait_connected()
    p.drain(timeout=180)
    rvgtest.assert_images_identical(p, s)
    ss = s.status()
    st = p.status()
    check(ss['applied_seq'] == st['last_seq'],
          f'secondary applied_seq {ss["applied_seq"]} != primary last_seq {st["last_seq"]}')
    p.stop()
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
