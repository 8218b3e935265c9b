#!/usr/bin/python3
"""The whole pair runs as an ordinary user (root only, to create the user).

A fresh user runs rvgadm/rvgd for both hosts in a directory it owns; the
primary's volumes are a FUSE mount made through fusermount3, owned by that
user; writes as that user replicate, byte for byte.
"""

import os
import shutil

import rvgdata
import rvgtest
from rvgtest import check, log

VOLUMES = [('data', '32M'), ('logs', '16M')]
SEED = 66
WRITES = 60


def reachable_binaries(env, user, paths):
    """The binaries as the user can run them: in place if it can reach
    them, else copies in the test's temp dir (a build under /root is not
    reachable by other users)."""
    out = []
    for path in paths:
        probe = rvgtest.run_cmd(['runuser', '-u', user, '--', 'test', '-x', path], check_rc=False)
        if probe.returncode == 0:
            out.append(path)
            continue
        copy = os.path.join(env.root, 'bin', os.path.basename(path))
        os.makedirs(os.path.dirname(copy), exist_ok=True)
        shutil.copy2(path, copy)
        os.chmod(copy, 0o755)
        out.append(copy)
    return out


def open_dev_fuse(env):
    """libfuse opens /dev/fuse itself before it mounts through fusermount3,
    so users need rw on it: Debian's udev rule makes it 0666. Some
    containers leave it 0600; open it for this test and restore it after."""
    mode = os.stat('/dev/fuse').st_mode & 0o777
    if mode & 0o006 == 0o006:
        return
    log(f'/dev/fuse is mode {mode:o} here, not 0666 as on a standard Debian system; '
        'making it 0666 for this test')
    os.chmod('/dev/fuse', 0o666)
    env.on_cleanup('restore the mode of /dev/fuse', lambda: os.chmod('/dev/fuse', mode))


def main(env):
    rvgtest.require_root('creating a user needs root')
    open_dev_fuse(env)
    user = env.add_user()
    os.chmod(env.root, 0o755)
    uid = int(rvgtest.run_cmd(['id', '-u', user]).stdout)
    rvgadm, rvgd = reachable_binaries(env, user, [rvgtest.RVGADM, rvgtest.RVGD])
    helpers = os.path.join(env.root, 'py')
    os.makedirs(helpers)
    for name in ('writer.py', 'rvgdata.py'):
        shutil.copy(os.path.join(rvgtest.HERE, name), helpers)
    os.chmod(helpers, 0o755)

    p, s = env.host('p', user=user), env.host('s', user=user)
    for h in (p, s):
        h.rvgadm_path, h.rvgd_path = rvgadm, rvgd
    s.create_secondary(VOLUMES, listen=f'tcp://127.0.0.1:{rvgtest.free_port()}')
    p.create_primary(VOLUMES, srl='64M')
    p.addsec(s)
    s.start()
    p.start(mount=True)
    p.wait_connected()

    entry = rvgtest.mount_entry(p.mountpoint)
    log(f'mount: {entry}')
    check(entry[2].startswith('fuse'), f'{p.mountpoint} is a {entry[2]} mount, expected fuse')
    check(f'user_id={uid}' in entry[3].split(','),
          f'{p.mountpoint} is not owned by {user} (uid {uid}): options {entry[3]}')
    with open(f'/proc/{p.pid()}/status') as f:
        real_uid = [line.split()[1] for line in f if line.startswith('Uid:')][0]
    check(int(real_uid) == uid, f'rvgd runs as uid {real_uid}, expected {uid}')
    for _, path, _ in p.volumes + s.volumes:
        check(os.stat(path).st_uid == uid, f'{path} is not owned by {user}')

    sizes = [size for _, _, size in p.volumes]
    writer_script = os.path.join(helpers, 'writer.py')
    out = rvgtest.run_cmd(['runuser', '-u', user, '--', '/usr/bin/python3',
                           writer_script, 'scatter', str(SEED), '--count', str(WRITES)]
                          + [f'{p.mounted(n)}:{size}' for n, _, size in p.volumes], timeout=300,
                          cwd=env.root)
    log(out.stdout.strip())
    p.drain(timeout=120)

    model = rvgdata.Model(sizes, SEED)
    for write in rvgdata.scatter_plan(SEED, WRITES, sizes):
        model.apply(write)
    for i, (name, path, _) in enumerate(p.volumes):
        problem = rvgdata.compare_file_to_bytes(path, model.volumes[i])
        check(problem is None, f'primary image of {name}: {problem}')
    rvgtest.assert_images_identical(p, s)
    p.stop()
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
