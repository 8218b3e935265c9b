#!/usr/bin/python3
"""SIGKILL of the secondary's rvgd in the middle of a burst of writes.

The primary keeps accepting writes while the secondary is down, and its
status shows the RLINK disconnected and falling behind. After
`rvgadm start`, the secondary resumes from what it had applied (its
applied_seq right after the restart is > 0, then grows), and after a drain
its images are byte-identical to the primary's, which hold every block the
writer wrote.
"""

import os

import rvgdata
import rvgtest
from rvgtest import check, log, wait_until

VOLUMES = [('a', '24M'), ('b', '24M')]
SEED = 33
BLOCK = 4096


def check_all_blocks(host, written):
    fds = [os.open(path, os.O_RDONLY) for _, path, _ in host.volumes]
    try:
        for i in range(written):
            w = rvgdata.block_write(i, len(fds), BLOCK)
            got = os.pread(fds[w.volume], BLOCK, w.offset)
            check(got == rvgdata.pattern(SEED, i, BLOCK),
                  f'host {host.name}: block #{i} (volume {host.volumes[w.volume][0]} offset '
                  f'{w.offset}) holds {rvgdata.describe_at(lambda o, n: got[o:o + n], 0)}')
    finally:
        for fd in fds:
            os.close(fd)


def main(env):
    p, s = env.pair(VOLUMES, srl='128M')
    writer, durable_file = env.block_writer(p, SEED)
    wait_until(lambda: rvgtest.read_durable(durable_file) >= 1024 and s.status()['applied_seq'] > 0,
               60, 'the writer has 1024 durable writes and the secondary has applied some',
               interval=0.2, state=lambda: f'{rvgtest.read_durable(durable_file)} durable')
    s.kill9()
    at_kill = rvgtest.read_durable(durable_file)
    wait_until(lambda: rvgtest.read_durable(durable_file) >= at_kill + 512, 60,
               'the primary goes on accepting writes with its secondary down',
               state=lambda: f'{rvgtest.read_durable(durable_file)} durable, '
                             f'writer exit {writer.poll()}')

    rlink = lambda: p.status()['rlinks'][0]
    wait_until(lambda: rlink()['state'] == 'disconnected' and rlink()['writes_behind'] > 0, 30,
               "the primary's status shows the RLINK disconnected and falling behind",
               state=rlink)

    s.start()
    resumed_at = s.status()['applied_seq']
    log(f'secondary restarted with applied_seq {resumed_at}')
    check(resumed_at > 0, 'the restarted secondary reports applied_seq 0: it did not resume '
          'from what it had applied before the crash')
    wait_until(lambda: s.status()['applied_seq'] > resumed_at, 60,
               'the restarted secondary applies new writes', interval=0.2)
    p.wait_connected()

    rc, written = env.wait_writer(writer, 120)
    check(rc == 0, f'writer exited {rc}: the primary failed writes while the secondary was down')
    p.drain(timeout=180)
    check_all_blocks(p, written)
    rvgtest.assert_images_identical(p, s)
    st, ss = p.status(), s.status()
    check(ss['applied_seq'] == st['last_seq'],
          f'secondary applied_seq {ss["applied_seq"]} != primary last_seq {st["last_seq"]}')
    p.stop()
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
