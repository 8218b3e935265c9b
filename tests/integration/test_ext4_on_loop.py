#!/usr/bin/python3
"""A real filesystem on a replicated volume (root only: loop devices).

losetup on the mounted primary image, mkfs.ext4, mount, copy a few thousand
real files in, umount, detach, drain. The secondary's image must pass
`fsck.ext4 -fn` and, mounted read-only, hold every file with the same
sha256.
"""

import hashlib
import os
import shutil

import rvgtest
from rvgtest import check, log

VOLUMES = [('disk', '192M'), ('aux', '16M')]
SOURCES = ['/usr/include', '/usr/share/doc']
MAX_FILES = 3000
MAX_BYTES = 48 * 1024 * 1024


def pick_files():
    """Up to MAX_FILES regular files (MAX_BYTES in all) from SOURCES."""
    picked, total = [], 0
    for top in SOURCES:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if not os.path.isfile(path) or os.path.islink(path):
                    continue
                size = os.path.getsize(path)
                if total + size > MAX_BYTES:
                    continue
                picked.append(path)
                total += size
                if len(picked) >= MAX_FILES:
                    return picked, total
    return picked, total


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def copy_in(files, target):
    sums = {}
    for src in files:
        rel = src.lstrip('/')
        dst = os.path.join(target, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        sums[rel] = sha256(src)
    return sums


def fsync_volume(host, volume='disk'):
    """fsync of a volume of `host`'s mount: the durability point for
    everything a loop device on it wrote."""
    fd = os.open(host.mounted(volume), os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def release_fs(env, host, fs, dev):
    """Unmounts the filesystem at `fs` (on loop device `dev`, on `host`'s
    mounted volume 'disk'), detaches the loop device and fsyncs the volume."""
    env.unmount_fs(fs)
    env.detach_loop(dev)
    fsync_volume(host)


def check_secondary_files(env, s, sums, after):
    """With `s` stopped: its image of 'disk' passes fsck.ext4 -fn and,
    mounted read-only, holds every file of `sums` (path relative to the
    filesystem's root: sha256) with that content. `after`: what happened
    before, for the messages."""
    fsck = rvgtest.run_cmd(['fsck.ext4', '-fn', s.image('disk')], check_rc=False, timeout=300)
    check(fsck.returncode == 0, f'fsck.ext4 -fn of the secondary image exited {fsck.returncode} '
          f'after {after}:\n{fsck.stdout}\n{fsck.stderr}')
    ro = os.path.join(env.root, 'ro')
    env.mount_fs(s.image('disk'), ro, options='ro,loop')
    bad = [rel for rel, digest in sums.items()
           if not os.path.isfile(os.path.join(ro, rel)) or sha256(os.path.join(ro, rel)) != digest]
    env.unmount_fs(ro)
    check(not bad, f'{len(bad)} of {len(sums)} files differ or are missing on the secondary '
          f'after {after}, e.g. {bad[:5]}')
    log(f'all {len(sums)} files identical on the secondary, fsck clean')


def main(env):
    rvgtest.require_root('losetup, mkfs and mount need root')
    files, total = pick_files()
    check(len(files) >= 500, f'found only {len(files)} files to copy under {SOURCES}')
    p, s = env.pair(VOLUMES, srl='256M')

    dev = env.attach_loop(p.mounted('disk'))
    rvgtest.run_cmd(['mkfs.ext4', '-q', dev], timeout=300)
    fs = os.path.join(env.root, 'fs')
    env.mount_fs(dev, fs)
    log(f'copying {len(files)} files ({total} bytes) into ext4 on {dev}')
    sums = copy_in(files, fs)
    release_fs(env, p, fs, dev)
    p.drain(timeout=300)
    rvgtest.assert_images_identical(p, s)

    s.stop()
    check_secondary_files(env, s, sums, 'replication')
    p.stop()


if __name__ == '__main__':
    rvgtest.run(main)
