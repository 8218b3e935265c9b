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

Scenario 2: the new primary dies in the middle of that failback resync.
The half-resynced old primary refuses to take over without --force; with
--force it rolls the resync back from its undo area and serves its own
data as it was before the failback.
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


def pair(env, names=('p', 's'), volumes=VOLUMES, start=True):
    """p (primary, with a listen endpoint of its own for when it is a
    secondary) and s (secondary, knowing p as a host of the RVG); with
    `start`, both running and connected, p mounted."""
    p, s = env.host(names[0]), env.host(names[1])
    s.create_secondary(volumes, f'tcp://127.0.0.1:{rvgtest.free_port()}')
    p.listen = f'tcp://127.0.0.1:{rvgtest.free_port()}'
    p.rvgadm('create', p.rvg, *p._volume_args(volumes), '--srl', f'{p.srl_path}:64M',
             '--role', 'primary', '--listen', p.listen)
    p.addsec(s)
    s.rvgadm('addsec', s.rvg, p.name, '--address', p.listen, '--peer-key', p.pubkey())
    if start:
        s.start()
        p.start(mount=True)
        p.wait_connected()
    return p, s


def plan(seed, count, first_index):
    return rvgdata.numbered_plan(seed, count, SIZES, first_index)


check_images = rvgtest.assert_images_hold


def fail_over(env, names, seed):
    """p writes, drains, writes more that s never gets, dies; s takes over
    and writes. Returns (p, s, model of s's data, model of p's data)."""
    p, s = pair(env, names)
    model = rvgdata.Model(SIZES, seed)
    p.write_plan(model, plan(seed, 20, 0))
    p.drain()
    p.rvgadm('pauserep', p.rvg, s.name)
    lost = copy.deepcopy(model)
    p.write_plan(lost, plan(seed + 1, 6, 1000))
    check(lost.volumes != model.volumes, 'the lost writes changed nothing')
    p.kill9()
    rvgtest.lazy_unmount(p.mountpoint)
    take_over_when_primary_silent(s)
    s.write_plan(model, plan(seed + 2, 6, 2000))
    return p, s, model, lost


def start_old_primary(p):
    """rvgadm start as the primary it still is: it may step down at once,
    so the mount is not checked here."""
    os.makedirs(p.mountpoint, exist_ok=True)
    p.rvgadm('start', p.rvg, '--mount', p.mountpoint)


def new_primary_dies_mid_failback(env):
    p, s, _, lost = fail_over(env, ('q', 't'), 61)
    # Slow enough to be caught in the middle.
    s.rvgadm('set', s.rvg, p.name, 'bandwidth_limit=256K')
    start_old_primary(p)
    last = {}

    def resync_under_way():
        last['p'] = p.status()
        undo = last['p'].get('undo')
        return last['p']['role'] == 'secondary' and undo is not None and undo['bytes'] > 0
    wait_until(resync_under_way, 60, 'the failback resync has begun overwriting the old primary',
               state=lambda: {k: last.get('p', {}).get(k) for k in ('role', 'undo', 'flags')})
    s.kill9()
    rvgtest.lazy_unmount(s.mountpoint)
    check(not p.status()['consistent'], 'the old primary is consistent in the middle of its '
          'failback resync')
    refusals = []

    def refused_as_inconsistent():
        cp = p.rvgadm('takeover', p.rvg, '--mount', p.mountpoint, check=False)
        check(cp.returncode != 0, 'takeover of a half-resynced host succeeded without --force')
        refusals.append(cp.stderr.strip())
        return 'inconsistent' in refusals[-1]
    wait_until(refused_as_inconsistent, 30, 'takeover is refused because of the inconsistency',
               interval=0.5, state=lambda: refusals[-1:])
    log(f'refused: {refusals[-1]}')
    p.rvgadm('takeover', p.rvg, '--mount', p.mountpoint, '--force')
    st = p.status()
    check(st['role'] == 'primary' and st['consistent'],
          f'after takeover --force: role {st["role"]}, consistent {st["consistent"]}')
    for i, (name, _, _) in enumerate(p.volumes):
        rvgdata.compare_file_to_bytes(p.mounted(name), bytes(lost.volumes[i]))
    log(f'{p.name}: the cut-off failback rolled back: it serves its own data from before it')
    p.stop()


def wait_failback(p, s):
    """Waits until old primary `p` has stepped down by itself, been
    resynced by `s`, and follows s's generation, consistent and no longer
    flagged failback; returns p's status then."""
    generation = s.status()['generation']
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
    return st


def main(env):
    # The old primary returns as primary. The new one refuses it as a
    # primary of a newer line; it steps down by itself and is resynced.
    p, s, model, _ = fail_over(env, ('p', 's'), 51)
    start_old_primary(p)
    wait_failback(p, s)

    wait_until(lambda: 'source' not in s.status()['flags'], 30,
               'the new primary clears flag source once the failback is complete',
               state=lambda: s.status()['flags'])
    check(s.status()['flags'].get('last_owner'), 'flag last_owner went with source')
    rlinkctl.check_partial_resync(s, p.name, sum(SIZES), 'the failback', 'fork')

    # In order from here: more writes reach p through the SRL stream.
    s.write_plan(model, plan(54, 10, 3000))
    s.drain()
    s.stop()
    p.stop()
    check_images(p, model, "the new primary's data: the lost writes rolled back")
    check_images(s, model, 'the same')
    new_primary_dies_mid_failback(env)


if __name__ == '__main__':
    rvgtest.run(main)
