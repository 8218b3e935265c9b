#!/usr/bin/python3
"""Rolling a secondary back from an unfinished bitmap resync (root only:
loop devices).

ext4 on the primary's volume (through a loop device) with a first set of
files; drained, the secondary is a consistent copy, and its image is
checksummed with rvgd stopped. While the secondary is down, a second set
of files overflows the 8 MiB SRL (srlprot=autodcm: the RLINK goes to DCM).
With bandwidth_limit=1M the bitmap resync that follows the secondary's
return is slow; once the secondary's status shows an undo area holding
regions (the resync is under way and has overwritten some), the primary
is SIGKILLed. The secondary is stopped and `rvgadm rollback` brings its
image back, byte-identical to the checksum taken before the resync, at
the same applied seq, consistent again, with no undo area left; the image
is fsck-clean and holds exactly the first set of files. rollback refuses
on the primary, while rvgd runs, and when there is no undo area.
"""

import json
import os

import rlinkctl
import rvgtest
import test_ext4_on_loop as ext4
from rlinkctl import wait_rlink
from rvgtest import check, log

VOLUMES = [('disk', '96M')]
MIB = 1 << 20
FIRST_BYTES = 6 * MIB      # on the secondary before the outage
SECOND_BYTES = 20 * MIB    # written during it: overflows the 8 MiB SRL
MIDDLE_BYTES = 2 * MIB     # resynced (at 1 MiB/s) when the primary is killed


def split_files():
    """Two disjoint lists of real files of about FIRST_BYTES and SECOND_BYTES."""
    files, _ = ext4.pick_files()
    first, second, size = [], [], 0
    for path in files:
        size += os.path.getsize(path)
        if size <= FIRST_BYTES:
            first.append(path)
        elif size <= FIRST_BYTES + SECOND_BYTES:
            second.append(path)
    check(len(first) >= 50 and len(second) >= 50,
          f'found too few files to copy ({len(first)}, {len(second)}) under {ext4.SOURCES}')
    return first, second


def rollback_error(host, what):
    """Runs rvgadm rollback, which must fail with one `rvgadm: error:` line
    containing `what`."""
    cp = host.rvgadm('rollback', host.rvg, check=False)
    lines = cp.stderr.strip().splitlines()
    check(cp.returncode == 1 and len(lines) == 1 and lines[0].startswith('rvgadm: error: ')
          and what in lines[0],
          f'rollback on {host.name}: expected exit 1 and one error line with "{what}", got '
          f'{cp.returncode}: {cp.stderr!r}')


def main(env):
    rvgtest.require_root('losetup, mkfs and mount need root')
    first, second = split_files()
    p, s = env.pair(VOLUMES, srl='8M')
    rollback_error(p, 'is the primary here')
    rollback_error(s, 'stop it first')

    sums = ext4.copy_through_loop(env, p, first, mkfs=True)
    p.drain(timeout=300)
    rvgtest.assert_images_identical(p, s)
    s.stop()
    rollback_error(s, 'no undo area')
    before = s.status()
    check(before['consistent'] and before['undo'] is None,
          f'a drained secondary: consistent {before["consistent"]}, undo {before["undo"]}')
    image_sum = ext4.sha256(s.image('disk'))
    log(f'secondary consistent at seq {before["applied_seq"]}, image sha256 {image_sum[:16]}...')

    log(f'secondary down; copying {len(second)} more files into ext4')
    ext4.copy_through_loop(env, p, second)
    r = rlinkctl.rlink(p)
    check(r['state'] == 'dcm', f'the RLINK is {r["state"]} after overflowing the SRL, not dcm')
    p.rvgadm('set', p.rvg, 's', 'bandwidth_limit=1M')
    log(f'RLINK in dcm, {r["dcm_dirty_bytes"]} bytes owed; resync limited to 1 MiB/s')

    s.start()
    last = {}

    def undo_holds_regions():
        last['s'] = s.status()
        undo = last['s'].get('undo')
        return undo is not None and undo['bytes'] >= MIDDLE_BYTES
    rvgtest.wait_until(undo_holds_regions, 120, 'the resync has overwritten (and first saved) '
                       f'{MIDDLE_BYTES} bytes', interval=0.05,
                       state=lambda: last.get('s', {}).get('undo'))
    wait_rlink(p, 'resyncing', lambda r: r.get('state') == 'resyncing', timeout=10)
    p.kill9()
    rvgtest.lazy_unmount(p.mountpoint)  # the primary is gone for good: its dead FUSE mount too
    mid = s.status()
    check(not mid['consistent'], 'the secondary is consistent in the middle of the resync')
    log(f'primary killed mid-resync; the secondary holds {mid["undo"]}')
    s.stop()

    stopped = s.status()
    check(not stopped['consistent'] and stopped['undo'] and stopped['undo']['regions'] > 0,
          f'stopped mid-resync: consistent {stopped["consistent"]}, undo {stopped["undo"]}')
    check(stopped['applied_seq'] == before['applied_seq'],
          f'the resync moved applied_seq to {stopped["applied_seq"]} before its end')
    cp = s.rvgadm('--json', 'rollback', s.rvg)
    done = json.loads(cp.stdout)
    check(done['seq'] == before['applied_seq'] and done['regions'] >= stopped['undo']['regions']
          and done['bytes'] > 0,
          f'rollback reported {done}, the undo area held {stopped["undo"]}, the images were '
          f'consistent at seq {before["applied_seq"]}')
    log(f'rollback: {done}')

    after_sum = ext4.sha256(s.image('disk'))
    check(after_sum == image_sum, 'after the rollback the secondary image differs from the one '
          'checksummed before the resync')
    after = s.status()
    check(after['consistent'] and after['undo'] is None and 'inconsistent' not in after['flags']
          and after['applied_seq'] == before['applied_seq'],
          f'after the rollback: consistent {after["consistent"]}, undo {after["undo"]}, flags '
          f'{after["flags"]}, applied_seq {after["applied_seq"]} (before: {before["applied_seq"]})')
    rollback_error(s, 'no undo area')

    ext4.check_fsck(s.image('disk'), 'the rolled back image')
    ext4.check_files(env, s.image('disk'), sums, absent=[path.lstrip('/') for path in second])
    log(f'fsck-clean, {len(sums)} files as before the outage, none of the {len(second)} later')

    s.start()  # a rolled back secondary serves again, consistent
    check(s.status()['consistent'], 'the secondary restarted inconsistent after the rollback')
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
