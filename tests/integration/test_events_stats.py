#!/usr/bin/python3
"""rvgadm events and stats, against a real pair.

events: `--now` prints the current state (role, running, each RLINK's
state) and exits; a running `events --json` prints a change line when
the RLINK is paused and one when it is resumed, in that order, and one
when rvgd stops (running true -> false). stats: with writes going on,
`stats --interval 0.3 --count 3 --json` prints three reports whose
writes per second on the RVG and sent and acked per second on the RLINK
add up to more than zero, and that give the mean net-ack latency of the
writes acked in an interval (net_ack_mean_s).
"""

import json
import os
import queue
import subprocess
import threading
import time

import rvgtest
from rvgtest import check, log

VOLUMES = [('a', '8M')]


class Lines:
    """The output lines of a running process, read on a thread."""

    def __init__(self, proc):
        self.queue = queue.Queue()
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc):
        for line in proc.stdout:
            self.queue.put(line)

    def until(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            check(left > 0, f'events: no line where {what} within {timeout} s; saw {seen[-8:]}')
            try:
                event = json.loads(self.queue.get(timeout=left))
            except queue.Empty:
                continue
            seen.append(event)
            if predicate(event):
                return event


def change(event, obj, key, old, new):
    return (event['event'] == 'change' and event['object'] == obj and event['key'] == key and
            event.get('old') == old and event.get('new') == new)


def writer(p, stop):
    fd = os.open(p.mounted('a'), os.O_WRONLY)
    try:
        i = 0
        while not stop.is_set():
            os.pwrite(fd, bytes([i % 251]) * 4096, (i % 2000) * 4096)
            i += 1
            if i % 50 == 0:
                os.fsync(fd)
    finally:
        os.close(fd)


def main(env):
    p, s = env.pair(VOLUMES)
    now = p.rvgadm('events', p.rvg, '--now').stdout
    for expected in ('exists rvg role primary', 'exists rvg running true',
                     f'exists rlink:{s.name} state connected'):
        check(expected in now, f'events --now lacks {expected!r}:\n{now}')
    log('events --now: role, running and the RLINK state')

    proc = env.spawn(p.argv('--json', 'events', p.rvg), stdout=subprocess.PIPE, text=True)
    lines = Lines(proc)
    lines.until(lambda e: e['event'] == 'exists' and e['key'] == 'state', 30, 'the RLINK exists')
    p.rvgadm('pauserep', p.rvg, s.name)
    lines.until(lambda e: change(e, f'rlink:{s.name}', 'state', 'connected', 'paused'), 30,
                'the RLINK changes to paused')
    p.rvgadm('resumerep', p.rvg, s.name)
    lines.until(lambda e: change(e, f'rlink:{s.name}', 'state', 'paused', 'connected'), 30,
                'the RLINK changes back to connected')
    log('events: paused, then connected again, as they happened')

    stop = threading.Event()
    t = threading.Thread(target=writer, args=(p, stop))
    t.start()
    try:
        out = p.rvgadm('--json', 'stats', p.rvg, '--interval', '0.3', '--count', '3').stdout
    finally:
        stop.set()
        t.join()
    reports = [json.loads(line) for line in out.splitlines() if line.strip()]
    check(len(reports) == 3, f'stats --count 3 printed {len(reports)} reports')
    # Over the three intervals together: one alone may catch a pause of
    # the writer or of the acks on a loaded machine.
    rl = [x for r in reports for x in r['rlinks'] if x['name'] == s.name]
    check(len(rl) == 3 and sum(r['writes_per_s'] for r in reports) > 0 and
          sum(x['sent_per_s'] for x in rl) > 0 and sum(x['acked_per_s'] for x in rl) > 0,
          f'stats under writes: {reports}')
    # Writes were acked in some interval: their mean net-ack latency.
    means = [x['net_ack_mean_s'] for x in rl if x.get('net_ack_mean_s') is not None]
    check(means and all(0 < m < 10 for m in means),
          f'stats: no mean net-ack latency over the intervals: {rl}')
    log(f'stats: {reports[-1]["writes_per_s"]:.0f} writes/s, '
        f'{reports[-1]["rlinks"][0]["acked_per_s"]:.0f} acked/s')

    p.drain()
    p.stop()
    lines.until(lambda e: change(e, 'rvg', 'running', 'true', 'false'), 30,
                'rvgd stops (running true -> false)')
    log('events: the stop of rvgd')
    proc.kill()
    proc.wait()
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
