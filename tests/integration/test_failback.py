#!/usr/bin/python3
"""Fast failback (doc/failover.md), DataKeeper's scenario 1, real rvgd
processes: the primary dies after replicating, the secondary takes over,
and the old primary, when it returns, becomes the new primary's secondary
by itself and gets a partial resync only.

The old primary p also made writes its secondary s never received (its
RLINK paused, then p SIGKILLed): the writes a failover loses. After the
failback p's images equal s's byte for byte — those lost writes rolled
back to s's contents — and the bytes resynced are the regions either side
wrote since the fork, far fewer than the volumes hold (counted by the
RLINK's resync counters). Replication then goes on in order from s to p.
"""

import copy
import os

import rlinkctl
import rvgdata
import rvgtest
from rvgtest import check, log, wait_until
from test_takeover import take_over_when_primary_silent

VOLUMES = [('a', '32M'), ('b', '32M')]
SIZES = [32 << 20, 32 << 20]


def pair(env):
    """p (primary, with a listen endpoint of its own for when it is a
    secondary) and s (secondary, knowing p as a host of the RVG)."""
    p, s = env.host('p'), env.host('s')
    s.create_secondary(VOLUMES, f'tcp://127.0.0.1:{rvgtest.free_port()}')
    p.listen = f'tcp://127.0.0.1:{rvgtest.free_port()}'
    p.rvgadm('create', p.rvg, *p._volume_args(VOLUMES), '--srl', f'{p.srl_path}:64M',
             '--role', 'primary', '--listen', p.listen)
    p.addsec(s)
    s.rvgadm('addsec', s.rvg, p.name, '--address', p.listen, '--peer-key', p.pubkey())
    s.start()
    p.start(mount=True)
    p.wait_connected()
    return p, s


def plan(seed, count, first_index):
    writes = rvgdata.scatter_plan(seed, count, SIZES)
    for w in writes:
        w.index += first_index
    return writes


def check_images(host, model, what):
    for i, (name, path, _) in enumerate(host.volumes):
        rvgdata.compare_file_to_bytes(path, bytes(model.volumes[i]))
    log(f'{host.name}: both images hold {what}, byte for byte')


def main(env):
    p, s = pair(env)
    model = rvgdata.Model(SIZES, 51)
    p.write_plan(model, plan(51, 20, 0))
    p.drain()

    # Writes s never gets: the RLINK paused, then p dies.
    p.rvgadm('pauserep', p.rvg, s.name)
    lost = copy.deepcopy(model)
    p.write_plan(lost, plan(52, 6, 1000))
    check(lost.volumes != model.volumes, 'the lost writes changed nothing')
    p.kill9()
    rvgtest.lazy_unmount(p.mountpoint)
    take_over_when_primary_silent(s)
    generation = s.status()['generation']

    # The new primary writes, overlapping some of the lost writes' regions.
    s.write_plan(model, plan(53, 6, 2000))

    # The old primary returns as primary. s refuses it as a primary of a
    # newer line; p steps down by itself and s resyncs it.
    os.makedirs(p.mountpoint, exist_ok=True)
    p.rvgadm('start', p.rvg, '--mount', p.mountpoint)
    last = {}

    def stepped_down():
        last['p'] = p.status()
        return last['p']['role'] == 'secondary' and last['p']['running']
    wait_until(stepped_down, 60, 'the old primary steps down to secondary by itself',
               state=lambda: {k: last.get('p', {}).get(k) for k in ('role', 'flags', 'running')})
    check(rvgtest.mount_entry(p.mountpoint) is None,
          'the old primary still has its volumes mounted after stepping down')
    log(f'{p.name} stepped down: flags {last["p"]["flags"]}')

    rlinkctl.wait_rlink(s, 'the failback resync completes and replication goes on',
                        lambda r: r['state'] == 'connected', timeout=120, name=p.name)

    def adopted():
        last['p'] = p.status()
        return last['p']['generation'] == generation
    wait_until(adopted, 30, 'the old primary follows the new generation',
               state=lambda: {k: last.get('p', {}).get(k) for k in ('generation', 'flags')})
    st = last['p']
    check('failback' not in st['flags'] and st['consistent'],
          f'after the failback: flags {st["flags"]}, consistent {st["consistent"]}')

    r = rlinkctl.rlink(s, p.name)
    sent = (r.get('counters') or {}).get('resync_bytes_sent', 0)
    total = sum(SIZES)
    check(0 < sent < total // 4, f'the failback resynced {sent} bytes of {total}: expected the '
          'regions written since the fork only')
    log(f'failback resynced {sent} bytes ({100 * sent / total:.1f} % of the volumes)')

    # In order from here: more writes reach p through the SRL stream.
    s.write_plan(model, plan(54, 10, 3000))
    s.drain()
    s.stop()
    p.stop()
    check_images(p, model, "the new primary's data: the lost writes rolled back")
    check_images(s, model, 'the same')


if __name__ == '__main__':
    rvgtest.run(main)
