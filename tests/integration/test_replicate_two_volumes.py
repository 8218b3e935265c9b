#!/usr/bin/python3
"""Two volumes replicated as one RVG: patterned writes scattered over both
(512 B to 1 MiB, some at unaligned offsets) reach the primary's images and,
after fsync + drain, the secondary's, byte for byte. status --json of both
hosts has the DESIGN.md fields and agrees on the seqs. Writes past the end
of a volume fail with ENOSPC and change nothing.
"""

import errno
import os

import rvgdata
import rvgtest
from rvgtest import check, log

VOLUMES = [('data', '48M'), ('logs', '24M')]
SEED = 11
WRITES = 160


def write_plan(primary, model, plan):
    fds = [os.open(primary.mounted(name), os.O_RDWR) for name, _, _ in primary.volumes]
    try:
        for (name, _, size), fd in zip(primary.volumes, fds):
            seen = os.fstat(fd).st_size
            check(seen == size, f'{primary.mounted(name)} shows {seen} bytes, volume is {size}')
        for write in plan:
            data = model.apply(write)
            n = os.pwrite(fds[write.volume], data, write.offset)
            check(n == len(data), f'{write}: pwrite wrote {n} of {len(data)} bytes')
            # Reads through the mount see a write at once.
            back = os.pread(fds[write.volume], write.length, write.offset)
            check(back == data, f'{write}: reading it back through the mount gives other bytes')
        for fd in fds:
            os.fsync(fd)
        for (name, _, size), fd in zip(primary.volumes, fds):
            check_enospc(fd, name, size)
    finally:
        for fd in fds:
            os.close(fd)


def check_enospc(fd, name, size):
    for offset in (size, size + 1024 * 1024):
        try:
            n = os.pwrite(fd, b'\xee' * 4096, offset)
        except OSError as e:
            check(e.errno == errno.ENOSPC,
                  f'volume {name}: write at {offset} (past the end) failed with '
                  f'{errno.errorcode.get(e.errno)}, expected ENOSPC')
        else:
            raise rvgtest.TestFailure(f'volume {name}: write of 4096 bytes at {offset} '
                                      f'(past the end, size {size}) returned {n}, expected ENOSPC')
    check(os.fstat(fd).st_size == size, f'volume {name}: size changed after writes past the end')


def main(env):
    p, s = env.pair(VOLUMES, srl='64M')
    sizes = [size for _, _, size in p.volumes]
    plan = rvgdata.scatter_plan(SEED, WRITES, sizes)
    model = rvgdata.Model(sizes, SEED)
    log(f'{len(plan)} patterned writes, {sum(w.length for w in plan)} bytes')
    write_plan(p, model, plan)
    p.drain(timeout=120)

    st = p.status()
    rvgtest.check_status_shape(st, p)
    check(st['role'] == 'primary', f'primary status role is {st["role"]!r}')
    check(st['running'] is True, 'primary status says not running')
    check(st['mount'] == p.mountpoint, f'primary status mount is {st["mount"]!r}')
    check(st['srl'] and st['srl'].get('size') == rvgdata.parse_size('64M'),
          f'primary status srl is {st["srl"]}')
    # The kernel may split a write into several FUSE requests, never merge two.
    check(st['last_seq'] >= len(plan), f'last_seq {st["last_seq"]} < {len(plan)} writes issued')
    check(len(st['rlinks']) == 1, f'expected one RLINK, status has {st["rlinks"]}')
    rlink = st['rlinks'][0]
    check(rlink['name'] == s.name and rlink['address'] == s.listen, f'RLINK is {rlink}')
    check(rlink['state'] == 'connected', f'RLINK state is {rlink["state"]!r}')
    check(rlink['data_acked_seq'] == st['last_seq'],
          f'after drain data_acked_seq {rlink["data_acked_seq"]} != last_seq {st["last_seq"]}')
    check(rlink['writes_behind'] == 0, f'after drain writes_behind is {rlink["writes_behind"]}')

    ss = s.status()
    missing = [k for k in ('rvg', 'role', 'running', 'generation', 'consistent', 'last_seq',
                           'applied_seq', 'volumes') if k not in ss]
    check(not missing, f'secondary status --json lacks {missing}')
    check(ss['role'] == 'secondary', f'secondary status role is {ss["role"]!r}')
    check(ss['consistent'] is True, 'secondary says it is inconsistent after drain')
    check(ss['applied_seq'] == st['last_seq'],
          f'secondary applied_seq {ss["applied_seq"]} != primary last_seq {st["last_seq"]}')
    check(ss['generation'] == st['generation'],
          f'generations differ: primary {st["generation"]}, secondary {ss["generation"]}')
    # Every RVG has an SRL: the secondary logs each batch before applying it.
    srl = ss.get('srl') or {}
    check(srl.get('path') == s.srl_path and srl.get('size') == 64 << 20,
          f'secondary status srl is {ss.get("srl")!r}, expected {s.srl_path} of 64 MiB')
    check(ss.get('health') == 'ok', f'secondary health is {ss.get("health")!r}')

    for i, (name, path, _) in enumerate(p.volumes):
        problem = rvgdata.compare_file_to_bytes(path, model.volumes[i])
        check(problem is None, f'primary image of {name}: {problem}')
    rvgtest.assert_images_identical(p, s)

    table = p.rvgadm('status', p.rvg).stdout
    check(p.rvg in table and s.name in table, f'status table names neither RVG nor RLINK:\n{table}')
    p.stop()
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
