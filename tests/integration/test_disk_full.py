#!/usr/bin/python3
"""A full disk under an image, on either side (root: size-limited tmpfs).

Images are sparse, so ENOSPC can come from any write.

1. Primary: its image lives on a small tmpfs next to a filler file. A
   writer writes 1 MiB chunks, fsyncing each, until a write or fsync fails:
   it must fail with ENOSPC, and status must show the failure. `rvgadm
   stop` works although the engine failed. With the filler removed and
   rvgd restarted, every fsynced chunk is intact through the mount, new
   writes work, and the secondary ends up identical.
2. Secondary: its image lives on a small tmpfs. Its applier fails with
   ENOSPC; the primary's status shows the RLINK `failed` with the reason
   (not a frozen `connected`). With space freed and the secondary
   restarted, the RLINK connects again and the copies become identical.
"""

import errno
import os

import rvgtest
from rvgtest import check, free_port, log, run_cmd, wait_until

MIB = 1 << 20
IMAGE_SIZE = '64M'


def small_fs(env, name, size, filler_mib):
    """A tmpfs of `size` under the test dir with a filler file of
    `filler_mib` MiB in it; returns (mountpoint, filler path)."""
    target = os.path.join(env.root, name)
    os.makedirs(target)
    run_cmd(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', target])
    env.fs_mounts.append(target)
    filler = os.path.join(target, 'filler')
    with open(filler, 'wb') as f:
        f.write(b'\xff' * (filler_mib * MIB))
    return target, filler


def create(host, role, image_dir, listen=None):
    """rvgadm create with volume `a` (64 MiB, sparse) in `image_dir`."""
    image = os.path.join(image_dir, f'{host.name}-a.img')
    args = ['create', host.rvg, '--volume', f'a={image}:{IMAGE_SIZE}',
            '--srl', f'{host.srl_path}:64M', '--role', role]
    if listen:
        args += ['--listen', listen]
        host.listen = listen
    host.rvgadm(*args)
    host.volumes = [('a', image, 64 * MIB)]


def make_pair(env, prefix, primary_dir, secondary_dir):
    p, s = env.host(prefix + 'p'), env.host(prefix + 's')
    create(s, 'secondary', secondary_dir, listen=f'tcp://127.0.0.1:{free_port()}')
    create(p, 'primary', primary_dir)
    p.addsec(s)
    s.start()
    p.start(mount=True)
    p.wait_connected()
    return p, s


def chunk(i):
    return bytes([(i * 7 + 1) % 256]) * MIB


def write_until_error(p, limit):
    """1 MiB chunks with an fsync after each; returns (chunks fsynced, the
    OSError that stopped it)."""
    fd = os.open(p.mounted('a'), os.O_WRONLY)
    try:
        for i in range(limit):
            try:
                os.pwrite(fd, chunk(i), i * MIB)
                os.fsync(fd)
            except OSError as e:
                return i, e
        return limit, None
    finally:
        os.close(fd)


def check_chunks(p, count):
    with open(p.mounted('a'), 'rb') as f:
        for i in range(count):
            f.seek(i * MIB)
            check(f.read(MIB) == chunk(i), f'chunk {i} of {count} fsynced chunks lost')


def primary_disk_full(env):
    small, filler = small_fs(env, 'pfs', '24m', 6)
    p, s = make_pair(env, '', small, env.root)
    durable, error = write_until_error(p, 48)
    check(error is not None, f'{durable} MiB written into a 24 MiB file system without an error')
    check(error.errno == errno.ENOSPC, f'the write failed with {error!r}, expected ENOSPC')
    log(f'primary: ENOSPC after {durable} fsynced chunks')
    st = p.status()
    check('No space left' in st.get('health', ''), f'status health after ENOSPC: '
          f'{st.get("health")!r}')

    p.stop()  # a failed engine still stops
    os.unlink(filler)
    p.start(mount=True)
    check_chunks(p, durable)
    more, error = write_until_error(p, 2)
    check(error is None, f'writes fail after space was freed and rvgd restarted: {error!r}')
    log(f'primary: all {durable} fsynced chunks intact after restart; writes work again')
    p.wait_connected()
    p.drain(timeout=180)
    rvgtest.assert_images_identical(p, s)
    p.stop()
    s.stop()


def secondary_disk_full(env):
    small, filler = small_fs(env, 'sfs', '16m', 8)
    p, s = make_pair(env, '2', env.root, small)
    written, error = write_until_error(p, 12)
    check(error is None, f'primary writes failed: {error!r}')
    last = {}

    def rlink_failed():
        last['r'] = p.status()['rlinks'][0]
        return last['r'].get('state') == 'failed'
    wait_until(rlink_failed, 60, 'the primary shows the RLINK failed after the secondary ran '
               'out of space', state=lambda: last.get('r'))
    reason = last['r'].get('last_error', '')
    check('No space left' in reason, f'RLINK error does not say why: {reason!r}')
    log(f'primary sees: {reason}')
    ss = s.status()
    check(ss.get('health', 'ok') != 'ok', f'secondary status health: {ss.get("health")!r}')

    s.stop()
    os.unlink(filler)
    s.start()
    p.wait_connected(timeout=60)
    p.drain(timeout=180)
    rvgtest.assert_images_identical(p, s)
    p.stop()
    s.stop()


def main(env):
    rvgtest.require_root('mounts size-limited tmpfs file systems')
    primary_disk_full(env)
    secondary_disk_full(env)


if __name__ == '__main__':
    rvgtest.run(main)
