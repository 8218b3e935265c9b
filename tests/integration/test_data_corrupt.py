#!/usr/bin/python3
"""data_corrupt and force-online (doc/failover.md), DataKeeper's scenarios
3 and 4 with real rvgd processes, both hosts SIGKILLed:

3. The old primary comes back first. It cannot know whether its secondary
   took over while it was down, so it flags data_corrupt and refuses
   writes (EROFS) — reads work — until the secondary answers; then the flag
   goes and writes replicate. A second time it is brought online by
   `rvgadm force-online` before the secondary returns: writes flow under a
   new generation, which the returning secondary adopts.
4. The secondary comes back first. It does not take over by itself; the old
   primary returns as primary, and replication goes on.

A primary that stopped cleanly is not held back at its next start.
"""

import errno
import os

import rvgdata
import rvgtest
from rvgtest import check, log, wait_until

VOLUMES = [('a', '8M'), ('b', '8M')]
SIZES = [8 << 20, 8 << 20]


def write_errno(host):
    """The errno of a 4 KiB write through the mount (None: it worked)."""
    fd = os.open(host.mounted('a'), os.O_WRONLY)
    try:
        os.pwrite(fd, b'x' * 4096, 0)
        return None
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def crash_both(p, s):
    p.kill9()
    s.kill9()
    rvgtest.lazy_unmount(p.mountpoint)


def check_held(p, model):
    st = p.status()
    check(st['role'] == 'primary' and 'data_corrupt' in st['flags'],
          f'the primary restarted after a crash: role {st["role"]}, flags {st["flags"]}; '
          'expected data_corrupt')
    failed = write_errno(p)
    check(failed == errno.EROFS, f'a write on a data_corrupt primary: errno {failed}, '
          'expected EROFS')
    for i, (name, _, _) in enumerate(p.volumes):
        rvgdata.compare_file_to_bytes(p.mounted(name), bytes(model.volumes[i]))
    log(f'{p.name}: data_corrupt, writes refused with EROFS, reads serve the data it had')


def replicate_more(p, s, model, seed):
    p.write_plan(model, rvgdata.scatter_plan(seed, 40, SIZES))
    p.drain()
    rvgtest.assert_images_identical(p, s)
    log(f'{p.name} -> {s.name}: 40 more writes replicated, images identical')


def secondary_answers(env, p, s, model):
    """Scenario 3, the secondary returns: the hold ends by itself."""
    crash_both(p, s)
    p.start(mount=True)
    check_held(p, model)
    generation = p.status()['generation']
    s.start()
    wait_until(lambda: 'data_corrupt' not in p.status()['flags'], 60,
               'data_corrupt ends once the secondary answers', state=lambda: p.status()['flags'])
    check(write_errno(p) is None, 'a write after the secondary answered failed')
    check(p.status()['generation'] == generation, 'the hold changed the generation')
    model.volumes[0][0:4096] = b'x' * 4096
    replicate_more(p, s, model, 71)


def force_online(env, p, s, model):
    """Scenario 3, force-online before the secondary returns."""
    crash_both(p, s)
    p.start(mount=True)
    check_held(p, model)
    before = p.status()
    cp = p.rvgadm('force-online', p.rvg)
    log(f'force-online: {cp.stdout.strip()}')
    check('generation' in cp.stdout, f'force-online did not name the new generation: {cp.stdout}')
    after = p.status()
    check(after['generation'] != before['generation'] and 'data_corrupt' not in after['flags'],
          f'after force-online: generation {after["generation"]} (was '
          f'{before["generation"]}), flags {after["flags"]}')
    p.write_plan(model, rvgdata.scatter_plan(72, 20, SIZES))
    again = p.rvgadm('force-online', p.rvg)
    check('online already' in again.stdout, f'force-online twice: {again.stdout!r}')
    # The secondary adopts the new generation (it holds nothing of it).
    s.start()
    p.drain()
    rvgtest.assert_images_identical(p, s)
    check(s.status()['generation'] == after['generation'],
          f'the secondary follows generation {s.status()["generation"]}, the primary '
          f'{after["generation"]}')
    log(f'{s.name} adopted generation {after["generation"][:8]}; images identical')
    replicate_more(p, s, model, 73)


def secondary_first(env, p, s, model):
    """Scenario 4: the secondary comes back first and stays a secondary."""
    crash_both(p, s)
    s.start()
    st = s.status()
    check(st['role'] == 'secondary' and st['running'], f'secondary after restart: {st["role"]}')
    p.start(mount=True)
    wait_until(lambda: 'data_corrupt' not in p.status()['flags'], 60,
               'the returning primary is confirmed by its secondary',
               state=lambda: p.status()['flags'])
    check(s.status()['role'] == 'secondary', 'the secondary took over by itself')
    replicate_more(p, s, model, 74)


def clean_stop_not_held(p, s, model):
    p.stop()
    p.start(mount=True)
    st = p.status()
    check('data_corrupt' not in st['flags'], f'held back after a clean stop: {st["flags"]}')
    check(write_errno(p) is None, 'a write right after a clean restart failed')
    model.volumes[0][0:4096] = b'x' * 4096
    log(f'{p.name}: a clean stop and start serves writes at once')


def main(env):
    p, s = env.pair(VOLUMES)
    model = rvgdata.Model(SIZES, 70)
    replicate_more(p, s, model, 70)
    clean_stop_not_held(p, s, model)
    secondary_answers(env, p, s, model)
    force_online(env, p, s, model)
    secondary_first(env, p, s, model)
    p.stop()
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
