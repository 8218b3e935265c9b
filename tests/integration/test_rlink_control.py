#!/usr/bin/python3
"""Latency protection, pause/resume, and live attribute changes.

1. `rvgadm set` refuses latency_low_mark >= latency_high_mark with a
   usage error that says why, and changes nothing.
2. latencyprot=fail, secondary down: with latency_high_mark=10 the nine
   writes before the mark succeed and the write that would reach it fails
   with EIO; status shows the protection active.
3. latencyprot=override, secondary held still (SIGSTOP) but connected:
   writes block at the high mark (the writer is stuck at write 20 of 40
   and status shows protection active); after SIGCONT they go on once the
   backlog is below the low mark, and the images end identical.
4. pauserep: writes go on, the secondary's applied seq does not move and
   status says paused — also after a restart of the primary; resumerep:
   it catches up and the images are identical.
"""

import threading

import rlinkctl
import rvgtest
from rlinkctl import Volume, expect_eio, wait_rlink
from rvgtest import check, log, wait_until

VOLUMES = [('a', '16M')]


def marks_refused(p):
    cp = p.rvgadm('set', 'rvg', 's', 'latency_high_mark=5', 'latency_low_mark=5', check=False)
    # A usage error: exit 2, the reason on the first line, then the synopsis.
    lines = cp.stderr.strip().splitlines()
    check(cp.returncode == 2 and lines and 'latency_low_mark (5) must be below' in lines[0],
          f'set with low mark = high mark: exit {cp.returncode}, stderr {cp.stderr!r}')
    r = rlinkctl.rlink(p)
    check((r['latency_high_mark'], r['latency_low_mark']) == (10000, 9000),
          f'a refused set changed the marks: {r["latency_high_mark"]}/{r["latency_low_mark"]}')


def latency_fail_disconnected(p, s):
    p.rvgadm('set', 'rvg', 's', 'latencyprot=fail', 'latency_high_mark=10',
             'latency_low_mark=5')
    p.drain()
    s.kill9()
    wait_rlink(p, 'disconnected', lambda r: r.get('state') == 'disconnected')
    with Volume(p.mounted('a')) as vol:
        for i in range(9):
            vol.write(i, b'latency')
        expect_eio('the write that reaches latency_high_mark=10 (latencyprot=fail)',
                   lambda: vol.write(9, b'latency'))
    r = rlinkctl.rlink(p)
    check(r['protection']['latency'] is True and r['writes_behind'] == 9,
          f'latencyprot=fail at the mark: protection {r["protection"]}, '
          f'{r["writes_behind"]} writes behind (expected active, 9)')
    log('latencyprot=fail: 9 writes succeeded, the 10th failed with EIO')
    rlinkctl.reconnect(p, s)
    p.drain()
    wait_rlink(p, 'protection released', lambda r: (r.get('protection') or {}).get('latency') is False)
    p.rvgadm('set', 'rvg', 's', 'latencyprot=off')


def latency_override_held_still(p, s):
    p.rvgadm('set', 'rvg', 's', 'latencyprot=override', 'latency_high_mark=20',
             'latency_low_mark=10')
    done = []
    errors = []

    def writer():
        try:
            with Volume(p.mounted('a')) as vol:
                for i in range(100, 140):
                    vol.write(i, b'held')
                    done.append(i)
        except OSError as e:
            errors.append(e)
    s.freeze()
    thread = threading.Thread(target=writer)
    try:
        thread.start()
        # The sender counts a silent secondary dead after 5 s (and override
        # then lets writes through), so this must be seen well before.
        wait_rlink(p, 'latency protection active',
                   lambda r: (r.get('protection') or {}).get('latency') is True, timeout=4)
        check(len(done) == 19 and thread.is_alive(),
              f'latencyprot=override, held still: {len(done)} writes done (expected 19, the '
              f'20th blocked), writer alive: {thread.is_alive()}')
        check(rlinkctl.rlink(p)['state'] == 'connected', 'the RLINK left connected too early')
    finally:
        s.cont()
    thread.join(60)
    check(not thread.is_alive() and not errors and len(done) == 40,
          f'after SIGCONT the writer did {len(done)} of 40 writes, errors {errors}')
    log('latencyprot=override: writes blocked at the high mark and went on after SIGCONT')
    p.drain()
    wait_rlink(p, 'protection released', lambda r: (r.get('protection') or {}).get('latency') is False)
    rvgtest.assert_images_identical(p, s)
    p.rvgadm('set', 'rvg', 's', 'latencyprot=off')


def pause_resume(p, s):
    p.rvgadm('pauserep', 'rvg', 's')
    wait_rlink(p, 'paused', lambda r: r.get('state') == 'paused')
    applied = s.status()['applied_seq']
    with Volume(p.mounted('a')) as vol:
        for i in range(200, 232):
            vol.write(i, b'paused')
        vol.fsync()
    # Restarting the primary keeps the RLINK paused.
    p.stop()
    p.start(mount=True)
    r = rlinkctl.rlink(p)
    check(r['state'] == 'paused' and r['writes_behind'] >= 32,
          f'after a restart of the primary: state {r["state"]}, {r["writes_behind"]} behind')
    check(s.status()['applied_seq'] == applied,
          f'the paused secondary applied writes: {applied} -> {s.status()["applied_seq"]}')
    cp = p.rvgadm('pauserep', 'rvg', 's', check=False)
    check(cp.returncode == 1 and 'already' in cp.stderr, f'pausing twice: {cp.stderr!r}')
    p.rvgadm('resumerep', 'rvg', 's')
    p.wait_connected()
    p.drain()
    rvgtest.assert_images_identical(p, s)
    log('pause/resume: nothing replicated while paused (also across a restart), all after')


def main(env):
    p, s = env.pair(VOLUMES)
    marks_refused(p)
    latency_fail_disconnected(p, s)
    latency_override_held_still(p, s)
    pause_resume(p, s)


if __name__ == '__main__':
    rvgtest.run(main)
