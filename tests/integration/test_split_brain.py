#!/usr/bin/python3
"""Split brain (doc/failover.md), real rvgd processes and a real network
partition: each host reaches the other through a TCP relay that the test
cuts while both keep running.

p loses its session and goes on writing: its first write after the loss
begins a new generation. s, its primary silent, takes over and writes
too. When they meet again both find the histories diverged: both report
split brain (flag split_brain, the RLINK in state split-brain) and nothing
is replicated either way — each keeps its own writes. `rvgadm resolve rvg
--discard-local` on p makes it s's secondary: the regions either side
wrote since the split are resynced from s (far fewer bytes than the
volumes hold), p ends byte-identical to s, and replication goes on.
"""

import os

import rlinkctl
import rvgdata
import rvgtest
import tcp_relay
from rvgtest import check, log, wait_until
from test_takeover import take_over_when_primary_silent

VOLUMES = [('a', '16M'), ('b', '16M')]
SIZES = [16 << 20, 16 << 20]


class Partition:
    """The relays of both directions (daemon threads: they go with the test
    process)."""

    def __init__(self, p_port, s_port):
        self.to_p = tcp_relay.Relay(p_port)
        self.to_s = tcp_relay.Relay(s_port)

    def cut(self):
        self.to_p.cut()
        self.to_s.cut()

    def heal(self):
        self.to_p.restore()
        self.to_s.restore()


def pair_through_relays(env):
    """p (with a listen endpoint) replicates to s; s knows p as a host of
    the RVG; each reaches the other through a relay."""
    p, s = env.host('p'), env.host('s')
    s_port, p_port = rvgtest.free_port(), rvgtest.free_port()
    s.create_secondary(VOLUMES, f'tcp://127.0.0.1:{s_port}')
    net = Partition(p_port, s_port)
    p.listen = f'tcp://127.0.0.1:{p_port}'
    p.rvgadm('create', p.rvg, *p._volume_args(VOLUMES), '--srl', f'{p.srl_path}:64M',
             '--role', 'primary', '--listen', p.listen)
    p.rvgadm('addsec', p.rvg, s.name, '--address', net.to_s.endpoint, '--peer-key', s.pubkey())
    s.rvgadm('trust', s.rvg, p.pubkey())
    s.rvgadm('addsec', s.rvg, p.name, '--address', net.to_p.endpoint, '--peer-key', p.pubkey())
    s.start()
    p.start(mount=True)
    p.wait_connected()
    return p, s, net


def plan(seed, count, first_index):
    return rvgdata.numbered_plan(seed, count, SIZES, first_index)


check_images = rvgtest.assert_images_hold


def wait_split(host, peer):
    last = {}

    def split():
        last['st'] = host.status()
        r = [r for r in last['st']['rlinks'] if r['name'] == peer.name][0]
        return last['st']['flags'].get('split_brain') == peer.name and r['state'] == 'split-brain'
    wait_until(split, 60, f'{host.name} reports a split brain with {peer.name}',
               state=lambda: (last.get('st', {}).get('flags'),
                              [(r['name'], r['state'], r.get('last_error'))
                               for r in last.get('st', {}).get('rlinks', [])]))
    log(f'{host.name}: split brain with {peer.name}: {last["st"]["flags"]}')


def main(env):
    p, s, net = pair_through_relays(env)
    base = rvgdata.Model(SIZES, 81)
    p.write_plan(base, plan(81, 30, 0))
    p.drain()
    before = p.status()['generation']

    net.cut()
    rlinkctl.wait_rlink(p, 'the cut link loses its session',
                        lambda r: r['state'] != 'connected', timeout=30, name=s.name)
    p_model = rvgdata.Model(SIZES, 81)
    p_model.volumes = [bytearray(v) for v in base.volumes]
    p.write_plan(p_model, plan(82, 12, 1000))
    check(p.status()['generation'] != before,
          'the primary wrote on without its secondary but began no new generation')
    log(f'{p.name}: writes after the session loss began generation {p.status()["generation"][:8]}')

    take_over_when_primary_silent(s)
    s_model = rvgdata.Model(SIZES, 81)
    s_model.volumes = [bytearray(v) for v in base.volumes]
    s.write_plan(s_model, plan(83, 12, 2000))
    check(p_model.volumes != s_model.volumes, 'the two sides wrote the same data')

    net.heal()
    wait_split(s, p)
    wait_split(p, s)
    # Nothing travelled either way: each side holds exactly its own writes.
    check_images(p, p_model, "its own writes since the split, none of s's")
    check_images(s, s_model, "its own writes since the split, none of p's")

    refused_resolve_keeps_writing(p, p_model)
    cp = p.rvgadm('resolve', p.rvg, '--discard-local')
    log(f'resolve: {cp.stdout.strip()}')
    last = {}

    def followed():
        last['p'] = p.status()
        return last['p']['role'] == 'secondary' and last['p']['generation'] == \
            s.status()['generation'] and 'failback' not in last['p']['flags']
    rlinkctl.wait_rlink(s, 'the resync of the discarded side completes',
                        lambda r: r['state'] == 'connected', timeout=120, name=p.name)
    wait_until(followed, 60, 'p follows s after resolve',
               state=lambda: {k: last.get('p', {}).get(k) for k in ('role', 'flags')})
    wait_until(lambda: 'split_brain' not in s.status()['flags'], 30,
               'the winner clears its split_brain flag', state=lambda: s.status()['flags'])
    check('split_brain' not in last['p']['flags'], f'p flags after resolve: {last["p"]["flags"]}')
    rlinkctl.check_partial_resync(s, p.name, sum(SIZES), 'resolve', 'split')

    s.write_plan(s_model, plan(84, 10, 3000))
    s.drain()
    s.stop()
    p.stop()
    net.cut()
    check_images(p, s_model, "the winner's data: p's writes since the split discarded")
    check_images(s, s_model, 'the same')


def refused_resolve_keeps_writing(p, model):
    """A volume held open makes resolve fail (the mount cannot go); the
    host goes on as the primary it was, taking writes — not fenced until
    rvgd restarts."""
    path = p.mounted('a')
    fd = os.open(path, os.O_RDWR)
    try:
        cp = p.rvgadm('resolve', p.rvg, '--discard-local', check=False)
        check(cp.returncode != 0 and 'in use' in cp.stderr,
              f'resolve with a volume held open: exit {cp.returncode}, {cp.stderr.strip()!r}')
        log(f'resolve refused: {cp.stderr.strip()}')
        data = b'after a refused resolve'.ljust(4096, b'.')
        os.pwrite(fd, data, 0)  # EROFS here was the defect
        os.fsync(fd)
        model.volumes[0][0:4096] = data
    finally:
        os.close(fd)
    check(p.status()['role'] == 'primary', 'a refused resolve changed the role')
    log(f'{p.name}: still primary and writable after the refused resolve')


if __name__ == '__main__':
    rvgtest.run(main)
