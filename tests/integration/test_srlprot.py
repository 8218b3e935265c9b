#!/usr/bin/python3
"""SRL overflow protection (srlprot) with a 4 MiB SRL and 24 MiB written
while the secondary is down, and stoprep/startrep --full.

1. autodcm (the default): no write fails; the RLINK goes to dcm (its
   bitmap owes regions), and when the secondary returns, resyncing (the
   secondary flagged inconsistent) and then connected, while a writer
   keeps writing; after a drain the images are byte-identical and the
   secondary is consistent again. The primary's log shows the path
   dcm -> resyncing -> connected.
2. fail: the write that overflows the SRL fails with EIO; every write
   before it succeeded and is on the secondary after it returns.
3. override: no write fails; the RLINK becomes stale and stays stale when
   the secondary returns, until `startrep --full` makes the images
   identical.
4. stoprep on a connected RLINK makes it stale; writes go on; startrep
   --full brings the secondary back to an identical copy.
"""

import errno
import os
import threading

import rlinkctl
import rvgtest
from rlinkctl import wait_rlink
from rvgtest import check, log

VOLUMES = [('a', '32M')]
MIB = 1 << 20


def write_mib(p, first, count, tag):
    """Writes `count` MiB at MiB offsets first.. with fsync each; returns
    how many succeeded before an error (and the error, or None)."""
    fd = os.open(p.mounted('a'), os.O_RDWR)
    try:
        for n in range(count):
            head = b'%s %d ' % (tag, first + n)
            block = (head * (MIB // len(head) + 1))[:MIB]
            try:
                os.pwrite(fd, block, ((first + n) % 32) * MIB)
                os.fsync(fd)
            except OSError as e:
                return n, e
        return count, None
    finally:
        os.close(fd)


def background_writer(p, stop, done):
    fd = os.open(p.mounted('a'), os.O_RDWR)
    try:
        i = 0
        while not stop.is_set():
            os.pwrite(fd, rlinkctl.block(i, b'during resync'), (i % 2048) * rlinkctl.BLOCK)
            i += 1
            if i % 64 == 0:
                os.fsync(fd)
        os.fsync(fd)
        done.append(i)
    finally:
        os.close(fd)


def autodcm(p, s):
    s.kill9()
    written, error = write_mib(p, 0, 24, b'autodcm')
    check(error is None, f'autodcm: write {written} failed: {error}')
    r = rlinkctl.rlink(p)
    check(r['state'] == 'dcm' and r['dcm_dirty_bytes'] > 0 and r['protection']['srl'] is True,
          f'autodcm after overflow: state {r["state"]}, dcm_dirty_bytes {r["dcm_dirty_bytes"]}, '
          f'protection {r["protection"]}')
    log(f'autodcm: 24 MiB written through a 4 MiB SRL; RLINK in dcm, '
        f'{r["dcm_dirty_bytes"]} bytes owed')
    stop, done = threading.Event(), []
    writer = threading.Thread(target=background_writer, args=(p, stop, done))
    writer.start()
    try:
        rlinkctl.reconnect(p, s)
    finally:
        stop.set()
        writer.join(60)
    check(done, 'the writer during the resync did not finish')
    p.drain()
    rvgtest.assert_images_identical(p, s)
    st = s.status()
    check(st['consistent'] and 'inconsistent' not in st['flags'],
          f'secondary after the resync: consistent {st["consistent"]}, flags {st["flags"]}')
    text = p.log_text()
    for step in ('connected -> dcm', 'dcm -> resyncing', 'resyncing -> connected'):
        check(f'rlink s: {step}' in text, f'the primary log lacks "rlink s: {step}"')
    check('bitmap resync from the primary begins' in s.log_text(),
          'the secondary did not log the resync (inconsistent meanwhile)')
    log(f'autodcm: dcm -> resyncing -> connected with {done[0]} writes during it; identical')


def srlprot_fail(p, s):
    p.rvgadm('set', 'rvg', 's', 'srlprot=fail')
    s.kill9()
    written, error = write_mib(p, 0, 24, b'fail')
    check(error is not None and error.errno == errno.EIO and 0 < written < 8,
          f'srlprot=fail: {written} writes then {error}; expected EIO after a few MiB')
    log(f'srlprot=fail: {written} MiB written, the next write failed with EIO')
    rlinkctl.reconnect(p, s)
    p.drain()
    rvgtest.assert_images_identical(p, s)
    p.rvgadm('set', 'rvg', 's', 'srlprot=autodcm')


def srlprot_override(p, s):
    p.rvgadm('set', 'rvg', 's', 'srlprot=override')
    s.kill9()
    written, error = write_mib(p, 0, 24, b'override')
    check(error is None, f'srlprot=override: write {written} failed: {error}')
    wait_rlink(p, 'stale', lambda r: r.get('state') == 'stale')
    s.start()
    # The secondary answers, and the primary refuses to replicate to it.
    wait_rlink(p, 'refused as stale', lambda r: r.get('state') == 'stale' and
               'full sync' in (r.get('last_error') or ''))
    p.rvgadm('startrep', 'rvg', 's', '--full')
    wait_rlink(p, 'connected after the full sync', lambda r: r.get('state') == 'connected',
               timeout=120)
    p.drain()
    rvgtest.assert_images_identical(p, s)
    p.rvgadm('set', 'rvg', 's', 'srlprot=autodcm')
    log('srlprot=override: stale until startrep --full; identical after it')


def stop_start(p, s):
    p.rvgadm('stoprep', 'rvg', 's')
    wait_rlink(p, 'stale after stoprep', lambda r: r.get('state') == 'stale')
    written, error = write_mib(p, 4, 4, b'stopped')
    check(error is None, f'after stoprep: write {written} failed: {error}')
    p.rvgadm('startrep', 'rvg', 's', '--full')
    wait_rlink(p, 'connected after the full sync', lambda r: r.get('state') == 'connected',
               timeout=120)
    p.drain()
    rvgtest.assert_images_identical(p, s)
    log('stoprep / startrep --full: identical')


def main(env):
    p, s = env.pair(VOLUMES, srl='4M')
    autodcm(p, s)
    srlprot_fail(p, s)
    srlprot_override(p, s)
    stop_start(p, s)


if __name__ == '__main__':
    rvgtest.run(main)
