#!/usr/bin/python3
"""Initial sync of a new secondary while writes go on, and `resync`.

1. A primary runs alone and gets 256 MiB written through its mount; its
   checkpoints release the records (no RLINK holds them). It stops.
2. addsec of a new secondary: the RLINK is added stale (it cannot catch up
   from the SRL) and addsec says a full sync is needed.
3. Both start; the RLINK stays stale. A writer writes through the mount,
   and `startrep --full --wait` runs with a bandwidth limit, so the copy
   takes seconds: meanwhile the secondary reports itself inconsistent, and
   the primary's status shows resync{done,total,rate,eta_s} moving. The
   command prints progress lines (no terminal) and exits 0 at the end.
4. The writer stops; after drain the images are byte-identical, the
   secondary is consistent, and resync_bytes_sent counts the copy.
5. `resync` on the connected RLINK with a clean bitmap says there is
   nothing to do (exit 0); `resync --full --wait` copies everything again
   (the counter grows by the volume size) and the images stay identical;
   a paused RLINK is refused, and so is a stale one (exit 1 each).
"""

import os
import re
import signal
import subprocess
import time

import rlinkctl
import rvgtest
from rvgsys import free_port
from rvgtest import check, log, wait_until

MIB = 1 << 20
VOLUMES = [('data', '320M')]
WRITTEN = 256 * MIB
LIMIT = '48M'  # bandwidth_limit: the copy takes a few seconds, long enough to watch


def write_volume(path, total):
    """`total` bytes of random data from offset 0, 1 MiB at a time, fsynced."""
    fd = os.open(path, os.O_WRONLY)
    try:
        for i in range(total // MIB):
            check(os.pwrite(fd, os.urandom(MIB), i * MIB) == MIB, 'short write')
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_volume(p, name):
    fd = os.open(p.mounted(name), os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def follow(env, p, s, argv, what, timeout=600):
    """Runs `rvgadm ARGV` (a --wait command) in the background and polls
    both hosts until it exits. Returns (exit status, output, what was seen):
    whether the secondary said it was inconsistent, and the primary's
    resync objects."""
    out_path = os.path.join(env.root, what.replace(' ', '_') + '.out')
    with open(out_path, 'w') as out:
        proc = env.spawn(p.argv(*argv), stdout=out, stderr=subprocess.STDOUT,
                         env=dict(os.environ, RVGD=p.rvgd_path))
    seen = {'inconsistent': False, 'resync': []}
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        check(time.monotonic() < deadline, f'{what}: rvgadm still running after {timeout}s')
        if not s.status()['consistent']:
            seen['inconsistent'] = True
        r = rlinkctl.rlink(p)
        if r['resync'] is not None:
            seen['resync'].append(r['resync'])
        time.sleep(0.2)
    with open(out_path) as f:
        output = f.read()
    log(f'{what}: exit {proc.returncode}; output:\n{output}')
    return proc.returncode, output, seen


def check_progress_seen(seen, what):
    check(seen['inconsistent'], f'{what}: the secondary never reported itself inconsistent '
          'during the copy')
    check(seen['resync'], f'{what}: the primary never showed a resync in status')
    for r in seen['resync']:
        check(set(r) >= {'done', 'total', 'rate', 'eta_s'}, f'{what}: resync object {r}')
        check(r['done'] <= r['total'], f'{what}: resync object {r}')
    rated = [r for r in seen['resync'] if r['rate'] is not None]
    check(rated, f'{what}: status never gave a rate during a copy of several seconds: '
          f'{seen["resync"][-5:]}')
    check(any(r['eta_s'] is not None for r in rated), f'{what}: no ETA with a known rate')
    # The limit caps the rate: a figure far above it is not a measured rate.
    fastest = max(r['rate'] for r in rated)
    check(fastest < 3 * 48 * MIB, f'{what}: rate {fastest} B/s under a {LIMIT} limit')


def check_output(rc, output, what, label):
    check(rc == 0, f'{what}: exit {rc}: {output}')
    check(re.search(label + r' \d+% ', output), f'{what}: no progress line in the output '
          '(not a terminal: plain lines expected)')
    check(label + ' complete' in output, f'{what}: no completion line: {output}')


def main(env):
    p, s = env.host('p'), env.host('s')
    s.create_secondary(VOLUMES, listen=f'tcp://127.0.0.1:{free_port()}')
    p.create_primary(VOLUMES, srl='64M')
    p.start(mount=True)
    log(f'writing {WRITTEN // MIB} MiB on the primary, no secondary yet')
    write_volume(p.mounted('data'), WRITTEN)
    p.stop()

    added = p.rvgadm('addsec', p.rvg, s.name, '--address', s.listen, '--peer-key', s.pubkey())
    check('needs a full sync' in added.stdout, f'addsec on a primary with history does not say '
          f'a full sync is needed: {added.stdout}')
    s.rvgadm('trust', s.rvg, p.pubkey())
    check(rlinkctl.rlink(p)['state'] == 'stale', 'the new RLINK is not stale in state.db: '
          f'{rlinkctl.rlink(p)["state"]}')
    s.start()
    p.start(mount=True)
    check(rlinkctl.rlink(p)['state'] == 'stale', 'the new RLINK of a primary with history is '
          f'{rlinkctl.rlink(p)["state"]}, not stale')
    refused = p.rvgadm('resync', p.rvg, s.name, check=False)
    check(refused.returncode == 1 and 'startrep --full' in refused.stderr,
          f'resync of a stale RLINK: exit {refused.returncode}, {refused.stderr!r}')

    p.rvgadm('set', p.rvg, s.name, f'bandwidth_limit={LIMIT}')
    writer, durable = env.block_writer(p, seed=7, rate=300)
    wait_until(lambda: rvgtest.read_durable(durable) > 0, 60, 'the writer has written')
    before = rvgtest.read_durable(durable)
    rc, output, seen = follow(env, p, s, ['startrep', p.rvg, s.name, '--full', '--wait'],
                              'startrep --full --wait')
    check_output(rc, output, 'startrep --full --wait', 'full sync')
    check_progress_seen(seen, 'startrep --full --wait')
    during = rvgtest.read_durable(durable) - before
    check(during > 0, 'the writer wrote nothing during the full sync')
    log(f'{during} writes were made during the full sync')

    writer.send_signal(signal.SIGTERM)
    writer.wait(timeout=30)
    fsync_volume(p, 'data')
    p.rvgadm('set', p.rvg, s.name, 'bandwidth_limit=none')
    p.drain(timeout=300)
    rvgtest.assert_images_identical(p, s)
    check(s.status()['consistent'], 'the secondary is still inconsistent after the full sync')
    r = rlinkctl.rlink(p)
    check(r['state'] == 'connected' and r['resync'] is None, f'after the full sync: {r}')
    size = 320 * MIB
    sent = r['counters']['resync_bytes_sent']
    # Regions that are zero on both hosts (the 64 MiB never written, blank
    # on the new secondary) travel as a hash, not data.
    zero = r['counters']['regions_zero'] * 64 * 1024
    check(sent + zero >= size, f'resync_bytes_sent {sent} + {zero} bytes of zero regions after '
          f'a full sync of {size} bytes')
    check(sent < size, f'resync_bytes_sent {sent}: the zero regions were sent as data')
    check(r['counters']['regions_identical'] == 0 and r['counters']['verify_bytes_sent'] == 0,
          f'counters: {r["counters"]}')

    # resync on a replicating RLINK.
    nothing = p.rvgadm('resync', p.rvg, s.name)
    check(nothing.stdout.startswith('nothing to resync'), f'resync with a clean bitmap printed '
          f'{nothing.stdout!r}')
    rc, output, seen = follow(env, p, s, ['resync', p.rvg, s.name, '--full', '--wait'],
                              'resync --full --wait')
    check(rc == 0 and 'full resync complete' in output, f'resync --full --wait: exit {rc}: {output}')
    check(seen['inconsistent'] or seen['resync'], 'resync --full: no sign of a resync while it ran')
    p.drain(timeout=300)
    rvgtest.assert_images_identical(p, s)
    check(s.status()['consistent'], 'the secondary is inconsistent after resync --full')
    counters = rlinkctl.rlink(p)['counters']
    again = counters['resync_bytes_sent'] - sent
    zero_again = counters['regions_zero'] * 64 * 1024 - zero
    check(again + zero_again >= size, f'resync --full sent {again} bytes and {zero_again} of '
          f'zero regions, of {size}')

    p.rvgadm('pauserep', p.rvg, s.name)
    paused = p.rvgadm('resync', p.rvg, s.name, '--full', check=False)
    check(paused.returncode == 1 and 'paused' in paused.stderr,
          f'resync --full of a paused RLINK: exit {paused.returncode}, {paused.stderr!r}')
    p.rvgadm('resumerep', p.rvg, s.name)
    p.stop()
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
