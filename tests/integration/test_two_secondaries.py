#!/usr/bin/python3
"""One primary, two asynchronous secondaries. Both get every write; one is
down for part of the run and catches up from the primary's SRL when it
comes back, while the other keeps replicating. `drain RVG SEC` waits for
one secondary only. In the end all three hosts hold identical images.
"""

import rvgdata
import rvgtest
from rvgsys import free_port
from rvgtest import check, log, wait_until

VOLUMES = [('data', '32M'), ('logs', '16M')]
SEED = 23


def main(env):
    p, s1 = env.pair(VOLUMES, srl='128M')
    s2 = env.host('s2')
    s2.create_secondary(VOLUMES, listen=f'tcp://127.0.0.1:{free_port()}')
    # addsec needs the primary stopped (online addsec comes later).
    p.stop()
    p.addsec(s2)
    s2.start()
    p.start(mount=True)
    wait_until(lambda: all(r['state'] == 'connected' for r in p.status()['rlinks']), 60,
               'both RLINKs connect')

    sizes = [size for _, _, size in p.volumes]
    model = rvgdata.Model(sizes, SEED)
    p.write_plan(model, rvgdata.scatter_plan(SEED, 60, sizes))
    p.drain(timeout=120)

    log('stopping secondary s2; writes go on')
    s2.stop()
    p.write_plan(model, rvgdata.scatter_plan(SEED + 1, 80, sizes))
    p.rvgadm('drain', p.rvg, s1.name, '--timeout', 120, timeout=180)
    # A secondary that stops cleanly tells its primary, which shows the
    # RLINK disconnected without waiting for its dead timeout.
    wait_until(lambda: {r['name']: r['state'] for r in p.status()['rlinks']}.get(s2.name)
               == 'disconnected', 30, f'the RLINK to the stopped {s2.name} shows disconnected')
    st = p.status()
    by_name = {r['name']: r for r in st['rlinks']}
    check(set(by_name) == {s1.name, s2.name}, f'RLINKs in status: {sorted(by_name)}')
    check(by_name[s1.name]['data_acked_seq'] == st['last_seq'],
          f'after drain of {s1.name}: {by_name[s1.name]}')
    check(by_name[s2.name]['writes_behind'] > 0,
          f'{s2.name} is down but is 0 writes behind: {by_name[s2.name]}')
    failed = p.rvgadm('drain', p.rvg, '--timeout', 2, check=False, timeout=60)
    check(failed.returncode == 1 and s2.name in failed.stderr,
          f'drain of all RLINKs with {s2.name} down: exit {failed.returncode}, '
          f'stderr {failed.stderr!r}')

    s2.start()
    p.drain(timeout=120)
    for i, (name, path, _) in enumerate(p.volumes):
        problem = rvgdata.compare_file_to_bytes(path, model.volumes[i])
        check(problem is None, f'primary image of {name}: {problem}')
    rvgtest.assert_images_identical(p, s1)
    rvgtest.assert_images_identical(p, s2)
    p.stop()
    s1.stop()
    s2.stop()


if __name__ == '__main__':
    rvgtest.run(main)
