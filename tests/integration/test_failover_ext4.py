#!/usr/bin/python3
"""ext4 through takeover and fast failback (root only: loop devices).

ext4 on a loop device on the primary p's mounted volume; a first set of
files is copied in and replicated to s. Then p's RLINK is paused and a
second set is copied in on p alone — the writes a failover loses — and p
is SIGKILLed. s takes over: its volume, through its own mount, is
fsck-clean with the first set and none of the second. s copies in a third
set. p returns, steps down by itself and is resynced from s (fast
failback, only the regions either side wrote since the fork): p's image
is then fsck-clean and holds exactly s's files — the second set rolled
back — and is byte-identical to s's.
"""

import os

import rlinkctl
import rvgtest
import test_ext4_on_loop as ext4
from rvgtest import log
from test_failback import pair, start_old_primary, wait_failback
from test_takeover import take_over_when_primary_silent


def main(env):
    rvgtest.require_root('losetup, mkfs and mount need root')
    files, _ = ext4.pick_files()
    third = len(files) // 3
    p, s = pair(env, ('p', 's'), volumes=[('disk', '128M')])
    sums = ext4.copy_through_loop(env, p, files[:third], mkfs=True)
    p.drain()
    p.rvgadm('pauserep', p.rvg, s.name)
    lost = ext4.copy_through_loop(env, p, files[third:2 * third])
    lost = {rel: digest for rel, digest in lost.items() if rel not in sums}
    log(f'{len(lost)} files written on {p.name} only (its RLINK paused), then it dies')
    p.kill9()
    rvgtest.lazy_unmount(p.mountpoint)

    take_over_when_primary_silent(s)
    ext4.check_fsck(s.mounted('disk'), 'the volume on the new primary after takeover')
    ext4.check_files(env, s.mounted('disk'), sums, absent=lost)
    log(f'{s.name}: fsck-clean after takeover with the {len(sums)} replicated files and none '
        'of the lost ones')
    sums.update(ext4.copy_through_loop(env, s, files[2 * third:]))

    start_old_primary(p)
    wait_failback(p, s)
    rlinkctl.check_partial_resync(s, p.name, 128 << 20, 'the failback', 'fork')
    s.drain()
    s.stop()
    p.stop()
    rvgtest.assert_images_identical(s, p)
    ext4.check_fsck(p.image('disk'), 'the old primary after its fast failback')
    ext4.check_files(env, p.image('disk'), sums, absent=[rel for rel in lost if rel not in sums])
    log(f'{p.name}: fsck-clean after the failback, all {len(sums)} files of {s.name}, the lost '
        'ones rolled back')


if __name__ == '__main__':
    rvgtest.run(main)
