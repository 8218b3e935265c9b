#!/usr/bin/python3
"""Write-order fidelity: the secondary's images are always a prefix of the
primary's write history, across both volumes of the RVG.

One writer overwrites a few 4 KiB blocks of two volumes many times, in an
order the test can recompute; every 512-byte sector carries the index of
the write that put it there. While it runs, the secondary rvgd is frozen
(SIGSTOP) about 20 times and its images are read: with k the highest write
index visible, every block must hold exactly the last write with index <= k
to that block (nothing newer visible while something older is missing),
and no block may be torn. The secondary is also SIGKILLed once and its
images checked at rest. At the end: drain, identical, final contents exact.
"""

import bisect
import os
import time

import rvgdata
import rvgtest
from rvgtest import check, log, wait_until

VOLUMES = [('x', '8M'), ('y', '8M')]
SEED = 44
BLOCKS = 48           # per volume: each block is overwritten many times
BLOCK = 4096
RATE = 2500           # writes per second
MAX_WRITES = 40000    # stop file normally ends the writer long before
SNAPSHOTS = 20
KILL_AT = 10          # the snapshot after which the secondary is SIGKILLed


class PrefixChecker:
    """Knows the writer's schedule; checks an image set is one of its prefixes."""

    def __init__(self):
        self.count = 0
        self.history = {}  # (volume, block) -> ascending write indices

    def _extend(self, k):
        while self.count <= k:
            target = rvgdata.overwrite_target(SEED, self.count, len(VOLUMES), BLOCKS)
            self.history.setdefault(target, []).append(self.count)
            self.count += 1

    def last_write(self, target, k):
        writes = self.history.get(target, [])
        pos = bisect.bisect_right(writes, k)
        return writes[pos - 1] if pos else None

    def check(self, images, what, final_k=None):
        """images: the first BLOCKS * BLOCK bytes of each volume. Returns k."""
        found = {}
        for v, image in enumerate(images):
            for b in range(BLOCKS):
                found[(v, b)] = self._block_writer(image[b * BLOCK:(b + 1) * BLOCK], v, b, what)
        k = max((i for i in found.values() if i is not None), default=-1)
        if final_k is not None:
            check(k <= final_k, f'{what}: holds write #{k}, but only {final_k + 1} were made')
            k = final_k
        self._extend(k)
        wrong = [(t, got, self.last_write(t, k)) for t, got in sorted(found.items())
                 if got != self.last_write(t, k)]
        check(not wrong, f'{what}: not a prefix of the write order. Highest write visible is '
              f'#{k}, but ' + '; '.join(
                  f'volume {VOLUMES[v][0]} block {b} holds {_name(got)} where the last write '
                  f'<= #{k} to it is {_name(want)}' for (v, b), got, want in wrong[:5])
              + (f' (and {len(wrong) - 5} more)' if len(wrong) > 5 else ''))
        return k

    def _block_writer(self, block, v, b, what):
        if block == bytes(BLOCK):
            return None
        stamp = rvgdata.identify(block)
        where = f'{what}: volume {VOLUMES[v][0]} block {b}'
        check(stamp is not None and stamp[0] == SEED, f'{where} holds foreign data: {block[:32].hex()}')
        if block != rvgdata.pattern(SEED, stamp[1], BLOCK):
            sectors = [rvgdata.identify(block[o:o + 512]) for o in range(0, BLOCK, 512)]
            raise rvgtest.TestFailure(f'{where} is torn or corrupt: its sectors carry '
                                      f'{[s[1] if s else None for s in sectors]}')
        return stamp[1]


def _name(index):
    return 'nothing (zeros)' if index is None else f'write #{index}'


def read_images(host):
    out = []
    for _, path, _ in host.volumes:
        with open(path, 'rb') as f:
            out.append(f.read(BLOCKS * BLOCK))
    return out


def frozen_snapshot(s):
    s.freeze()
    try:
        return read_images(s)
    finally:
        s.cont()


def main(env):
    p, s = env.pair(VOLUMES, srl='128M')
    checker = PrefixChecker()
    stop_file = os.path.join(env.root, 'stop')
    writer = env.writer('overwrite', SEED, '--rate', RATE, '--stop', stop_file,
                        '--blocks', BLOCKS, '--block-size', BLOCK, '--max', MAX_WRITES,
                        *[p.mounted(n) for n, _, _ in p.volumes])
    wait_until(lambda: s.status()['applied_seq'] > 0, 60, 'the secondary applies a first write',
               interval=0.1)
    seen = []
    for n in range(SNAPSHOTS):
        time.sleep(0.15)  # pacing between snapshots, not waiting for a condition
        seen.append(checker.check(frozen_snapshot(s), f'secondary snapshot {n}'))
        if n == KILL_AT:
            s.kill9()
            last_before_restart = p.status()['last_seq']
            seen.append(checker.check(read_images(s), 'secondary image at rest after SIGKILL'))
            s.start()
            # Replaying from its persisted applied_seq, the secondary re-applies
            # writes its images already hold; prefixes again once past the crash.
            wait_until(lambda: s.status()['applied_seq'] >= last_before_restart, 60,
                       f'the restarted secondary is past seq {last_before_restart}', interval=0.1)
    log(f'highest write visible in each snapshot: {seen}')
    check(writer.poll() is None, 'the writer finished before the snapshots did: '
          'the snapshots did not race with writes (raise MAX_WRITES)')
    check(len(set(seen)) >= SNAPSHOTS // 4,
          f'the secondary hardly moved between snapshots: {seen}')

    with open(stop_file, 'w'):
        pass
    rc, written = env.wait_writer(writer, 60)
    check(rc == 0, f'writer exited {rc}')
    p.drain(timeout=180)
    checker.check(read_images(p), 'primary image at the end', final_k=written - 1)
    checker.check(read_images(s), 'secondary image at the end', final_k=written - 1)
    rvgtest.assert_images_identical(p, s)
    p.stop()
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
