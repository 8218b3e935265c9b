#!/usr/bin/python3
"""bandwidth_limit, and how far behind status says an RLINK is.

Every attribute is changed with `rvgadm set` while rvgd runs (live).

1. Lag: with the secondary held still (SIGSTOP), status shows the write it
   has not acknowledged, and its seconds_behind grows from one reading to
   the next; after SIGCONT and a drain, seconds_behind, bytes_behind and
   srl_used_bytes are 0 and the RLINK sends from memory.
2. bandwidth_limit=2M: 24 MiB written through the mount at full speed; the
   rate at which the secondary then acknowledges them (bytes_behind going
   down in the primary's status, for about 10 s) is within 20% of 2 MiB/s.
   It is a rate measured in bytes over time, far below what the machine
   does without the limit, not a timing of the machine.
3. bandwidth_limit=none: the rest drains, and the images are identical.
4. Read-back: at 1M, 80 MiB written outruns the 64 MiB the primary keeps
   in memory, and status says the RLINK sends from the SRL
   (sending_from "srl", srl_used_bytes at least bytes_behind); with the
   limit lifted it drains, sending from memory again, images identical.
"""

import os
import threading
import time

import rlinkctl
import rvgtest
from rlinkctl import Volume
from rvgtest import check, log, wait_until

MIB = 1 << 20
VOLUMES = [('a', '32M')]
CHUNK = 128 * 1024     # small records, so bytes_behind moves in small steps
LIMIT = 2 * MIB        # bandwidth_limit=2M
MEASURE_SECONDS = 10


def write_mib(p, mib, seed):
    """`mib` MiB through the mount in CHUNK writes, cycling over the volume,
    then one fsync (the async RLINK does not hold it up)."""
    chunk = (b'%d ' % seed) * (CHUNK // 2)
    chunk = chunk[:CHUNK]
    size = 32 * MIB
    fd = os.open(p.mounted('a'), os.O_WRONLY)
    try:
        for i in range(mib * MIB // CHUNK):
            n = os.pwrite(fd, chunk, (i * CHUNK) % size)
            check(n == CHUNK, f'pwrite wrote {n} of {CHUNK} bytes')
        os.fsync(fd)
    finally:
        os.close(fd)


def lag_while_held_still(p, s):
    p.drain()
    s.freeze()
    try:
        with Volume(p.mounted('a')) as vol:
            vol.write(0, b'held')
            vol.fsync()
        first = {}

        def aged():
            r = rlinkctl.rlink(p)
            first.update(r)
            return r['writes_behind'] == 1 and r['seconds_behind'] >= 1.0
        wait_until(aged, 4, 'the unacknowledged write is a second old in status',
                   state=lambda: {k: first.get(k) for k in ('writes_behind', 'seconds_behind')})
        later = {}

        def older():
            later.update(rlinkctl.rlink(p))
            return later['seconds_behind'] >= first['seconds_behind'] + 0.5
        wait_until(older, 3, f'seconds_behind grows past {first["seconds_behind"]} + 0.5',
                   state=lambda: later.get('seconds_behind'))
        check(later['bytes_behind'] == rlinkctl.BLOCK and
              later['srl_used_bytes'] >= rlinkctl.BLOCK,
              f'one 4 KiB write behind: bytes_behind {later["bytes_behind"]}, '
              f'srl_used_bytes {later["srl_used_bytes"]}')
        log(f'held still: seconds_behind {first["seconds_behind"]} -> '
            f'{later["seconds_behind"]}')
    finally:
        s.cont()
    p.drain()
    r = rlinkctl.rlink(p)
    check((r['seconds_behind'], r['bytes_behind'], r['srl_used_bytes'], r['sending_from']) ==
          (0, 0, 0, 'memory'),
          f'after a drain: seconds_behind {r["seconds_behind"]}, bytes_behind '
          f'{r["bytes_behind"]}, srl_used_bytes {r["srl_used_bytes"]}, sending_from '
          f'{r["sending_from"]!r} (expected 0, 0, 0, "memory")')
    log('drained: seconds_behind back to 0, sending from memory')


def sample(p):
    """(time, bytes_behind) of RLINK s; the time is the middle of the call."""
    t0 = time.monotonic()
    behind = rlinkctl.rlink(p)['bytes_behind']
    return (t0 + time.monotonic()) / 2, behind


def measured_rate(p):
    """Bytes/s by which bytes_behind goes down, nothing being written, over
    MEASURE_SECONDS or until little is left (the tail would understate)."""
    start = sample(p)
    end = start
    while end[0] - start[0] < MEASURE_SECONDS and end[1] > 2 * MIB:
        time.sleep(0.5)
        end = sample(p)
    seconds = end[0] - start[0]
    check(seconds >= 5, f'only {seconds:.1f}s of backlog to measure '
          f'({start[1]} -> {end[1]} bytes behind): the limit did not hold it back')
    return (start[1] - end[1]) / seconds, seconds


def limited_rate(p, s):
    p.rvgadm('set', 'rvg', 's', 'bandwidth_limit=2M')
    check(rlinkctl.rlink(p)['bandwidth_limit'] == LIMIT,
          f'status bandwidth_limit {rlinkctl.rlink(p)["bandwidth_limit"]}, expected {LIMIT}')
    t0 = time.monotonic()
    write_mib(p, 24, seed=1)
    log(f'24 MiB written through the mount in {time.monotonic() - t0:.2f}s')
    rate, seconds = measured_rate(p)
    print(f'measured replication rate with bandwidth_limit=2M: {rate / MIB:.3f} MiB/s '
          f'over {seconds:.1f}s ({rate / LIMIT:.2f} of the limit)', flush=True)
    check(abs(rate - LIMIT) <= 0.2 * LIMIT,
          f'replication ran at {rate / MIB:.3f} MiB/s, not within 20% of 2 MiB/s')

    p.rvgadm('set', 'rvg', 's', 'bandwidth_limit=none')
    t0 = time.monotonic()
    p.drain(timeout=60)
    log(f'bandwidth_limit=none: the rest drained in {time.monotonic() - t0:.2f}s')
    check(rlinkctl.rlink(p)['bytes_behind'] == 0, 'bytes behind after the drain')
    rvgtest.assert_images_identical(p, s)


def read_back(p, s):
    p.rvgadm('set', 'rvg', 's', 'bandwidth_limit=1M')
    errors = []

    def writer():
        try:
            write_mib(p, 80, seed=2)
        except Exception as e:  # reported below, from the main thread
            errors.append(e)
    thread = threading.Thread(target=writer)
    thread.start()
    seen = {}
    try:
        def reading_back():
            seen.update(rlinkctl.rlink(p))
            return seen['sending_from'] == 'srl'
        wait_until(reading_back, 120, 'RLINK s sends from the SRL',
                   state=lambda: {k: seen.get(k) for k in ('sending_from', 'bytes_behind')})
    finally:
        thread.join(300)
    check(not thread.is_alive() and not errors, f'the 80 MiB writer: {errors}')
    check(seen['bytes_behind'] > 56 * MIB,
          f'sending from the SRL with only {seen["bytes_behind"]} bytes behind (the memory '
          f'budget is 64 MiB)')
    log(f'reading back from the SRL at {seen["bytes_behind"]} bytes behind')
    # Nothing is written now, so the SRL holds at least what the RLINK needs.
    status = p.status()
    r, srl = status['rlinks'][0], status['srl']
    check(srl['used'] >= r['srl_used_bytes'] >= r['bytes_behind'] > 0,
          f'SRL used {srl["used"]}, the RLINK\'s srl_used_bytes {r["srl_used_bytes"]}, '
          f'bytes_behind {r["bytes_behind"]} (expected in that order, not 0)')
    percent = 100 * srl['used'] / (srl['size'] - 8192)
    check(abs(srl['used_percent'] - percent) <= 0.1,
          f'SRL used_percent {srl["used_percent"]}, expected {percent:.1f}')
    log(f'SRL {srl["used_percent"]}% used, {r["srl_used_bytes"]} bytes of it for RLINK s')
    p.rvgadm('set', 'rvg', 's', 'bandwidth_limit=none')
    p.drain(timeout=120)
    r = rlinkctl.rlink(p)
    check(r['sending_from'] == 'memory' and r['seconds_behind'] == 0,
          f'after the drain: sending_from {r["sending_from"]!r}, seconds_behind '
          f'{r["seconds_behind"]}')
    rvgtest.assert_images_identical(p, s)
    log('read-back: from the SRL while behind, from memory once caught up')


def main(env):
    p, s = env.pair(VOLUMES, srl='128M')
    lag_while_held_still(p, s)
    limited_rate(p, s)
    read_back(p, s)


if __name__ == '__main__':
    rvgtest.run(main)
