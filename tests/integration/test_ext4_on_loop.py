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


def copy_through_loop(env, p, files, mkfs=False):
    """Copies `files` into ext4 (made first when `mkfs`) on a loop device
    over p's mounted volume 'disk', then unmounts, detaches and fsyncs the
    volume; returns {relative path: sha256}."""
    dev = env.attach_loop(p.mounted('disk'))
    if mkfs:
        rvgtest.run_cmd(['mkfs.ext4', '-q', dev], timeout=300)
    fs = os.path.join(env.root, 'fs')
    env.mount_fs(dev, fs)
    log(f'copying {len(files)} files into ext4 on {dev}')
    sums = copy_in(files, fs)
    release_fs(env, p, fs, dev)
    return sums


def check_fsck(image, what):
    fsck = rvgtest.run_cmd(['fsck.ext4', '-fn', image], check_rc=False, timeout=300)
    check(fsck.returncode == 0, f'fsck.ext4 -fn of {what} exited {fsck.returncode}:\n'
          f'{fsck.stdout}\n{fsck.stderr}')


def check_files(env, image, sums, absent=()):
    """Mounts ext4 `image` read-only: every file of `sums` must be there
    with its sha256, and no path of `absent`."""
    ro = os.path.join(env.root, 'ro')
    env.mount_fs(image, ro, options='ro,loop')
    try:
        bad = [rel for rel, digest in sums.items() if not os.path.isfile(os.path.join(ro, rel))
               or sha256(os.path.join(ro, rel)) != digest]
        there = [rel for rel in absent if os.path.exists(os.path.join(ro, rel))]
    finally:
        env.unmount_fs(ro)
    check(not bad, f'{len(bad)} of {len(sums)} files differ or are missing on {image}, '
          f'e.g. {bad[:5]}')
    check(not there, f'{len(there)} files that should not be there are on {image}, '
          f'e.g. {there[:5]}')


def check_secondary_files(env, s, sums, after):
    """With `s` stopped: its image of 'disk' passes fsck.ext4 -fn and holds
    every file of `sums` with that content. `after`: what happened before,
    for the messages."""
    check_fsck(s.image('disk'), f'the secondary image after {after}')
    check_files(env, s.image('disk'), sums)
    log(f'all {len(sums)} files identical on the secondary after {after}, fsck clean')


def main(env):
    rvgtest.require_root('losetup, mkfs and mount need root')
    files, total = pick_files()
    check(len(files) >= 500, f'found only {len(files)} files to copy under {SOURCES}')
    p, s = env.pair(VOLUMES, srl='256M')

    log(f'{len(files)} files, {total} bytes')
    sums = copy_through_loop(env, p, files, mkfs=True)
    p.drain(timeout=300)
    rvgtest.assert_images_identical(p, s)

    s.stop()
    check_fsck(s.image('disk'), 'the secondary image')
    check_files(env, s.image('disk'), sums)
    log(f'all {len(sums)} files identical on the secondary')
    p.stop()


if __name__ == '__main__':
    rvgtest.run(main)
