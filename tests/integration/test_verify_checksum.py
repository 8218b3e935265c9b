#!/usr/bin/python3
"""Online verify and checksum sync (issue 9).

1. A pair replicates 64 MiB of random data; `verify` exits 0.
2. Bytes are flipped in 10 regions (1 %) of the stopped secondary's image;
   `verify` exits 1 and names those regions (and nothing else); `resync`
   sends exactly them, and `verify` exits 0 again.
3. 10 other regions flipped; stoprep, then `startrep --checksum`: the
   regions are compared by hash and only the differing ones travel —
   fewer than 2 % of the volume's bytes, by the primary's counters — and
   the images end byte-identical.
   Again with rvgd SIGKILLed between `startrep --checksum` and the sync
   (the secondary is down meanwhile): the restarted primary still
   compares (flag checksum_resync:s), and clears the flag when done.
4. `verify` while a writer keeps writing all over the volume: exit 0, no
   false differences (pieces written meanwhile are checked again).
5. A full sync (`startrep --full`) of a mostly zero volume onto a blank
   secondary sends no data for the zero regions, also for those beside
   lone data regions.
"""

import os
import random
import threading

import rvgtest
from rvgtest import check, log, wait_until

MIB = 1 << 20
REGION = 64 * 1024          # the default region size
SIZE = 64 * MIB
VOLUMES = [('a', '64M')]
# 10 regions of 1024 each time (1 %), a byte somewhere in each.
_RNG = random.Random(5)
_REGIONS = _RNG.sample(range(SIZE // REGION), 30)
FLIPS = [r * REGION + _RNG.randrange(REGION) for r in _REGIONS[:10]]
SCATTERED = [20 * MIB + 3 * REGION, 41 * MIB + 9 * REGION]
FLIPS2 = [r * REGION + _RNG.randrange(REGION) for r in _REGIONS[10:20]]
FLIPS3 = [r * REGION + _RNG.randrange(REGION) for r in _REGIONS[20:]]
COMPARE_FLAG = 'checksum_resync:s'


def rlink(p):
    return p.status()['rlinks'][0]


def counter(p, name):
    return rlink(p)['counters'][name]


def same_images(p, s):
    with open(p.image('a'), 'rb') as a, open(s.image('a'), 'rb') as b:
        return a.read() == b.read()


def fill(path, seed, size, chunk=MIB):
    rng = random.Random(seed)
    fd = os.open(path, os.O_WRONLY)
    try:
        for off in range(0, size, chunk):
            os.pwrite(fd, rng.randbytes(chunk), off)
        os.fsync(fd)
    finally:
        os.close(fd)


def verify(p, expect_rc):
    cp = p.rvgadm('verify', p.rvg, 's', check=False, timeout=300)
    log('verify said: ' + cp.stdout.strip().replace('\n', ' | '))
    check(cp.returncode == expect_rc, f'verify exited {cp.returncode}, expected {expect_rc}: '
          f'{cp.stdout} {cp.stderr}')
    return cp.stdout


def flip_stopped(s, offsets):
    """Inverts the byte at each offset of the secondary's image, behind the
    back of its rvgd, which is stopped for it (and left stopped)."""
    s.stop()
    with open(s.image('a'), 'r+b') as f:
        for off in offsets:
            f.seek(off)
            b = f.read(1)
            f.seek(off)
            f.write(bytes([b[0] ^ 0xFF]))


def flip(p, s, offsets):
    flip_stopped(s, offsets)
    s.start()
    p.wait_connected()


def check_checksum_sync(sent, identical, flips):
    """The sync sent the differing regions and no more than 2 % of the
    volume; every other region was found identical."""
    log(f'checksum sync sent {sent} bytes; {identical} regions identical')
    check(sent < SIZE // 50, f'checksum sync of a secondary that differs in 1 % of its regions '
          f'sent {sent} bytes, 2 % of the volume is {SIZE // 50}')
    check(sent >= len(flips) * REGION, f'checksum sync sent {sent} bytes, less than the '
          f'{len(flips)} differing regions')
    check(identical == SIZE // REGION - len(flips),
          f'{identical} regions counted identical, {SIZE // REGION - len(flips)} are')


def checksum_sync_after_crash(p, s):
    """startrep --checksum with the secondary down, rvgd SIGKILLed before
    the sync begins: the restarted primary compares all the same."""
    flip_stopped(s, FLIPS3)
    p.rvgadm('stoprep', p.rvg, 's')
    wait_until(lambda: rlink(p)['state'] == 'stale', 60, 'stoprep makes the RLINK stale')
    p.rvgadm('startrep', p.rvg, 's', '--checksum')
    check(COMPARE_FLAG in p.status()['flags'],
          f'startrep --checksum did not set flag {COMPARE_FLAG}: {p.status()["flags"]}')
    p.kill9()
    p.start(mount=True)
    check(counter(p, 'resync_bytes_sent') == 0, 'the restarted rvgd counts from 0')
    s.start()
    wait_synced(p, s)
    check_checksum_sync(counter(p, 'resync_bytes_sent'), counter(p, 'regions_identical'), FLIPS3)
    check(COMPARE_FLAG not in p.status()['flags'],
          f'flag {COMPARE_FLAG} is still set after the checksum sync completed')
    log(f'after SIGKILL and restart the sync still compared; flag {COMPARE_FLAG} cleared')


def wait_synced(p, s):
    wait_until(lambda: rlink(p)['state'] == 'connected', 120,
               'the RLINK is connected again after the sync')
    p.drain(timeout=120)
    if not same_images(p, s):
        with open(p.image("a"), "rb") as a, open(s.image("a"), "rb") as b:
            x, y = a.read(), b.read()
        bad = [o for o in range(0, len(x), REGION) if x[o:o + REGION] != y[o:o + REGION]]
        check(False, f"images differ after the sync and a drain: {len(bad)} regions, first {bad[:5]}, zero on p: {[x[o:o+REGION] == bytes(REGION) for o in bad[:5]]}")


def main(env):
    p, s = env.pair(VOLUMES, srl='128M')
    fill(p.mounted('a'), 1, SIZE)
    p.drain(timeout=120)
    out = verify(p, 0)
    check('identical' in out, f'verify of equal images does not say identical: {out}')

    # 2. Damage the secondary behind rvg's back; verify finds it, resync
    # repairs exactly that.
    flip(p, s, FLIPS)
    out = verify(p, 1)
    expected = sorted(off // REGION * REGION for off in FLIPS)
    found = []
    for line in out.splitlines():
        if line.startswith('differs:'):   # differs: volume a offset O length L
            off, length = int(line.split()[4]), int(line.split()[6])
            found += range(off, off + length, REGION)
    check(sorted(found) == expected,
          f'verify reports regions at {sorted(found)}, the flips are in {expected}')
    sent_before = counter(p, 'resync_bytes_sent')
    p.rvgadm('resync', p.rvg, 's', '--wait', timeout=300)
    wait_synced(p, s)
    sent = counter(p, 'resync_bytes_sent') - sent_before
    check(sent == len(FLIPS) * REGION, f'resync after verify sent {sent} bytes, the '
          f'{len(FLIPS)} differing regions are {len(FLIPS) * REGION}')
    verify(p, 0)

    # 3. Checksum sync sends only what differs.
    flip(p, s, FLIPS2)
    p.rvgadm('stoprep', p.rvg, 's')
    wait_until(lambda: rlink(p)['state'] == 'stale', 60, 'stoprep makes the RLINK stale')
    sent_before = counter(p, 'resync_bytes_sent')
    identical_before = counter(p, 'regions_identical')
    p.rvgadm('startrep', p.rvg, 's', '--checksum', '--wait', timeout=300)
    wait_synced(p, s)
    check_checksum_sync(counter(p, 'resync_bytes_sent') - sent_before,
                        counter(p, 'regions_identical') - identical_before, FLIPS2)
    check(COMPARE_FLAG not in p.status()['flags'],
          f'flag {COMPARE_FLAG} is still set after the checksum sync completed')
    verify(p, 0)
    checksum_sync_after_crash(p, s)
    verify(p, 0)

    # 4. Verify under a writer: no false differences.
    stop = threading.Event()
    writes = [0]

    def writer():
        rng = random.Random(7)
        fd = os.open(p.mounted('a'), os.O_WRONLY)
        try:
            while not stop.is_set():
                os.pwrite(fd, rng.randbytes(4096), rng.randrange(SIZE // 4096) * 4096)
                writes[0] += 1
                if writes[0] % 16 == 0:
                    os.fsync(fd)
        finally:
            os.close(fd)
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    env.on_cleanup('writer thread', lambda: (stop.set(), t.join(30)))
    wait_until(lambda: writes[0] > 100, 60, 'the writer is under way')
    before = writes[0]
    out = verify(p, 0)
    during = writes[0] - before
    stop.set()
    t.join(30)
    check(during > 100, f'only {during} writes ran during the verify: it did not run under load')
    log(f'{during} writes during the verify, which found no difference')
    wait_synced(p, s)

    # 5. A full sync of zeros onto a blank (sparse) secondary sends no data
    # for them.
    p.rvgadm('stoprep', p.rvg, 's')
    wait_until(lambda: rlink(p)['state'] == 'stale', 60, 'stoprep makes the RLINK stale')
    s.stop()
    os.truncate(s.image('a'), 0)
    os.truncate(s.image('a'), SIZE)
    s.start()
    fd = os.open(p.mounted('a'), os.O_WRONLY)
    try:
        os.pwrite(fd, bytes(SIZE - MIB), MIB)   # all but the first MiB zero...
        for off in SCATTERED:                    # ... and two lone regions
            os.pwrite(fd, random.Random(off).randbytes(4096), off)
        os.fsync(fd)
    finally:
        os.close(fd)
    sent_before = counter(p, 'resync_bytes_sent')
    zero_before = counter(p, 'regions_zero')
    p.rvgadm('startrep', p.rvg, 's', '--full')
    wait_synced(p, s)
    r = rlink(p)
    sent = r['counters']['resync_bytes_sent'] - sent_before
    zeros = r['counters']['regions_zero'] - zero_before
    log(f'full sync of a mostly zero volume sent {sent} bytes; {zeros} zero regions')
    # Zero regions beside the lone ones travel as hashes too, although
    # adjacent dirty regions share a piece.
    data = MIB + len(SCATTERED) * REGION
    check(sent == data, f'full sync of a volume with {data} bytes of data in its regions sent '
          f'{sent} bytes')
    check(zeros == (SIZE - data) // REGION, f'{zeros} zero regions skipped, '
          f'{(SIZE - data) // REGION} are zero')
    p.stop()
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
