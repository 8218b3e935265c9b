#!/usr/bin/python3
"""rvgadm's error contract: bad usage exits 2; a command that cannot be
done exits 1 with `rvgadm: error: ...` on stderr; a failed create leaves
nothing behind; a state.db from a newer format is refused, saying so.
No daemon is started.
"""

import os
import sqlite3

import rvgtest
from rvgtest import check, log


def expect(host, code, *args, mentions=None):
    cp = host.rvgadm(*args, check=False, timeout=60)
    what = f'`rvgadm {" ".join(map(str, args))}`'
    check(cp.returncode == code, f'{what} exited {cp.returncode}, expected {code}\n'
          f'stdout: {cp.stdout}\nstderr: {cp.stderr}')
    if code == 1:
        check('rvgadm: error:' in cp.stderr, f'{what}: stderr lacks "rvgadm: error:": {cp.stderr!r}')
        check(len(cp.stderr.strip().splitlines()) >= 1, f'{what}: no message')
    if code == 2:
        check(cp.stderr.strip(), f'{what}: a usage error must say what is wrong on stderr')
    if mentions:
        check(mentions in cp.stderr.lower(), f'{what}: stderr does not mention "{mentions}": '
              f'{cp.stderr!r}')
    return cp


def check_not_created(host, rvg, paths):
    expect(host, 1, 'status', rvg)
    for path in paths:
        check(not os.path.exists(path), f'a failed create left {path} behind')


def set_format_version(db_path, version):
    """Marks state.db as written by format `version`: the meta table's
    format entry and SQLite's user_version, whichever rvg uses."""
    db = sqlite3.connect(db_path, timeout=10)
    changed = 0
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in (t for t in tables if 'meta' in t.lower()):
            cols = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
            if 'key' in cols and 'value' in cols:
                changed += db.execute(f'UPDATE "{table}" SET value=? WHERE key LIKE \'%format%\' '
                                      f'OR key LIKE \'%version%\'', (str(version),)).rowcount
            for col in (c for c in cols if 'format' in c.lower() or 'version' in c.lower()):
                changed += db.execute(f'UPDATE "{table}" SET "{col}"=?', (version,)).rowcount
        db.execute(f'PRAGMA user_version={int(version)}')
        db.commit()
    finally:
        db.close()
    log(f'state.db: format set to {version} ({changed} meta rows, and user_version)')


def main(env):
    h = env.host('h')
    d = h.dir
    port = rvgtest.free_port()

    # Usage errors: exit 2.
    expect(h, 2)
    expect(h, 2, 'frobnicate')
    expect(h, 2, 'create')
    expect(h, 2, 'status')
    expect(h, 2, 'create', 'u1', '--volume', f'v={d}/u1.img:12X', '--srl', f'{d}/u1.srl:8M')
    expect(h, 2, 'create', 'u2', '--volume', f'v={d}/u2.img:1M', '--srl', f'{d}/u2.srl:lots')
    expect(h, 2, 'create', 'u3', '--volume', 'no-equals-sign', '--srl', f'{d}/u3.srl:8M')
    expect(h, 2, 'create', 'u4', '--volume', f'v={d}/u4.img:1M', '--srl', f'{d}/u4.srl:8M',
           '--role', 'secondary', '--listen', 'bogus://nowhere')
    expect(h, 2, 'create', 'u5', '--volume', f'v={d}/u5.img:1M', '--srl', f'{d}/u5.srl:8M',
           '--role', 'boss')
    # Every RVG has an SRL, a secondary too.
    expect(h, 2, 'create', 'u6', '--volume', f'v={d}/u6.img:1M', '--role', 'secondary',
           '--listen', f'tcp://127.0.0.1:{port}', mentions='--srl')
    for rvg in ('u1', 'u2', 'u3', 'u4', 'u5', 'u6'):
        check_not_created(h, rvg, [f'{d}/{rvg}.img', f'{d}/{rvg}.srl'])

    # A good primary and a good secondary, then errors against them: exit 1.
    h.rvgadm('create', 'r1', '--volume', f'v={d}/r1.img:2M', '--srl', f'{d}/r1.srl:8M',
             '--role', 'primary')
    h.rvgadm('create', 'sec', '--volume', f'v={d}/sec.img:2M', '--srl', f'{d}/sec.srl:8M',
             '--role', 'secondary', '--listen', f'tcp://127.0.0.1:{port}')
    expect(h, 2, 'addsec', 'r1', 'far', '--address', 'not-an-endpoint')
    expect(h, 1, 'create', 'r1', '--volume', f'v={d}/r1b.img:2M', '--srl', f'{d}/r1b.srl:8M',
           '--role', 'primary')
    check(not os.path.exists(f'{d}/r1b.img'), 'a duplicate create made its image anyway')
    expect(h, 1, 'start', 'nosuch')
    expect(h, 1, 'status', 'nosuch')
    # On a secondary, addsec names another host of the RVG (doc/failover.md);
    # the same name twice is an error.
    h.rvgadm('addsec', 'sec', 'far', '--address', f'tcp://127.0.0.1:{port + 1}')
    expect(h, 1, 'addsec', 'sec', 'far', '--address', f'tcp://127.0.0.1:{port + 1}',
           mentions='already has an rlink named far')
    st = h.status('r1')
    check(st['running'] is False and st['role'] == 'primary', f'status of stopped r1: {st}')
    # A CURVE key may begin with dashes (Z85 has '-'): it is a key, not an
    # unknown option; a real unknown option still is one.
    for key in ('-' + 'a' * 39, '--' + 'b' * 38):
        h.rvgadm('trust', 'sec', key)
        check(h.status('sec')['primary_key'] == key, f'trust {key}: the key was not pinned')
    expect(h, 2, 'trust', 'sec', '--frobnicate', mentions='unknown option')

    with open(f'{d}/other.img', 'wb') as f:
        f.truncate(1024 * 1024)
    expect(h, 1, 'create', 'r2', '--volume', f'v={d}/other.img:2M', '--srl', f'{d}/r2.srl:8M',
           '--role', 'primary')
    check(os.path.getsize(f'{d}/other.img') == 1024 * 1024,
          'a failed create changed the size of an existing image')
    check_not_created(h, 'r2', [f'{d}/r2.srl'])

    set_format_version(os.path.join(h.home, 'state.db'), 99)
    expect(h, 1, 'status', 'r1', mentions='newer')
    expect(h, 1, 'create', 'r3', '--volume', f'v={d}/r3.img:1M', '--srl', f'{d}/r3.srl:8M',
           '--role', 'primary', mentions='newer')
    check(not os.path.exists(f'{d}/r3.img'), 'create into a newer state.db made an image')


if __name__ == '__main__':
    rvgtest.run(main)
