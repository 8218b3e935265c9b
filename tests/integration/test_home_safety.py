#!/usr/bin/python3
"""rvgadm and rvgd refuse a home that someone else could tamper with, and
a state.db that is empty or damaged, each with a one-line error saying
what to do. No daemon runs for long: the cases are refusals.

- A home (or its run folder) writable by group or others: refused by
  status, create and start, naming the chmod that fixes it.
- A home owned by another user: refused, naming the chown (root only).
- A 0-byte state.db: refused by status, create and start and left as it
  is (it used to be re-initialised, forgetting every RVG).
- A state.db with a damaged page: refused by quick_check at open.
- Moved away, a new state.db is made by the next create.
"""

import os
import shutil

import rvgtest
from rvgtest import check, log


def expect_refused(host, *args, mentions=()):
    cp = host.rvgadm(*args, check=False, timeout=60)
    what = f'`rvgadm {" ".join(map(str, args))}`'
    check(cp.returncode == 1, f'{what} exited {cp.returncode}, expected 1; stderr {cp.stderr!r}')
    lines = cp.stderr.strip().splitlines()
    check(len(lines) == 1 and lines[0].startswith('rvgadm: error:'),
          f'{what}: expected one `rvgadm: error:` line, got {cp.stderr!r}')
    for text in mentions:
        check(text in cp.stderr, f'{what}: stderr does not mention {text!r}: {cp.stderr!r}')
    log(f'{what}: {lines[0]}')


def all_refuse(h, mentions, image_dir):
    expect_refused(h, 'status', 'r1', mentions=mentions)
    expect_refused(h, 'create', 'r2', '--volume', f'v={image_dir}/r2.img:1M', '--srl',
                   f'{image_dir}/r2.srl:8M', '--role', 'primary', mentions=mentions)
    check(not os.path.exists(f'{image_dir}/r2.img'), 'a refused create made its image')
    os.makedirs(h.mountpoint, exist_ok=True)
    expect_refused(h, 'start', 'r1', '--mount', h.mountpoint, mentions=mentions)
    check(rvgtest.mount_entry(h.mountpoint) is None, 'a refused start mounted the volumes')


def unsafe_modes(h):
    for folder in (h.home, os.path.join(h.home, 'run')):
        os.chmod(folder, 0o770)
        try:
            all_refuse(h, ('writable by group or others', f'chmod 700 {folder}'), h.dir)
        finally:
            os.chmod(folder, 0o700)
    h.rvgadm('status', 'r1')


def foreign_owner(env, h):
    user = env.add_user()
    uid = int(rvgtest.run_cmd(['id', '-u', user]).stdout)
    os.chown(h.home, uid, -1)
    try:
        all_refuse(h, (f'owned by uid {uid}', 'chown'), h.dir)
    finally:
        os.chown(h.home, 0, -1)
    h.rvgadm('status', 'r1')


def damaged_state(h):
    db = os.path.join(h.home, 'state.db')
    backup = os.path.join(h.dir, 'state.db.backup')
    shutil.copy(db, backup)

    open(db, 'w').close()
    all_refuse(h, ('is empty: restore it from backup or move it away',), h.dir)
    check(os.path.getsize(db) == 0, 'an empty state.db was written to')

    shutil.copy(backup, db)
    check(os.path.getsize(db) >= 3 * 4096, f'state.db is only {os.path.getsize(db)} bytes')
    with open(db, 'r+b') as f:
        f.seek(4096)                 # page 2: a table's root page
        f.write(b'\xa5' * 4096)
    all_refuse(h, ('is damaged', 'restore it from backup or move it away'), h.dir)

    os.rename(db, db + '.damaged')
    h.rvgadm('create', 'r3', '--volume', f'v={h.dir}/r3.img:1M', '--srl', f'{h.dir}/r3.srl:8M',
             '--role', 'primary')
    check(os.path.getsize(db) > 0, 'create on a home without state.db made no state.db')
    h.rvgadm('status', 'r3')


def main(env):
    h = env.host('h')
    h.rvgadm('create', 'r1', '--volume', f'v={h.dir}/r1.img:1M', '--srl', f'{h.dir}/r1.srl:8M',
             '--role', 'primary')
    unsafe_modes(h)
    if os.geteuid() == 0:
        foreign_owner(env, h)
    else:
        log('not root: the foreign-owner case needs a second user; skipped')
    damaged_state(h)


if __name__ == '__main__':
    rvgtest.run(main)
