#!/usr/bin/python3
"""ext4 through an SRL overflow (root only: loop devices).

ext4 on a loop device on the primary's mounted volume, with an 8 MiB SRL.
The secondary is killed, and some 24 MiB of files are copied in: the SRL
overflows, the RLINK switches to DCM (srlprot=autodcm), and no write
fails. The secondary comes back, the bitmap resync brings it up to date,
and its image is byte-identical to the primary's and passes
`fsck.ext4 -fn`.
"""

import os

import rlinkctl
import rvgtest
import test_ext4_on_loop as ext4
from rvgtest import check, log

VOLUMES = [('disk', '128M')]


def main(env):
    rvgtest.require_root('losetup, mkfs and mount need root')
    files, total = ext4.pick_files()
    p, s = env.pair(VOLUMES, srl='8M')
    dev = env.attach_loop(p.mounted('disk'))
    rvgtest.run_cmd(['mkfs.ext4', '-q', dev], timeout=300)
    fs = os.path.join(env.root, 'fs')
    env.mount_fs(dev, fs)

    s.kill9()
    log(f'secondary down; copying {len(files)} files ({total} bytes) into ext4 on {dev}')
    ext4.copy_in(files, fs)
    ext4.release_fs(env, p, fs, dev)
    r = rlinkctl.rlink(p)
    check(r['state'] == 'dcm', f'after {total} bytes through an 8 MiB SRL the RLINK is '
          f'{r["state"]}, not dcm')
    log(f'RLINK in dcm, {r["dcm_dirty_bytes"]} bytes owed')

    rlinkctl.reconnect(p, s)
    p.drain(timeout=300)
    rvgtest.assert_images_identical(p, s)
    s.stop()
    fsck = rvgtest.run_cmd(['fsck.ext4', '-fn', s.image('disk')], check_rc=False, timeout=300)
    check(fsck.returncode == 0, f'fsck.ext4 -fn of the secondary image exited '
          f'{fsck.returncode} after the bitmap resync:\\n{fsck.stdout}\\n{fsck.stderr}')
    log('the secondary image is fsck-clean after the bitmap resync')
    p.stop()


if __name__ == '__main__':
    rvgtest.run(main)
