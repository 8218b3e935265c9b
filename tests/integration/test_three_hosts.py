#!/usr/bin/python3
"""Three hosts (doc/failover.md, "Three hosts"): a primary with two
secondaries, real rvgd processes, failures by SIGKILL.

1. The third host ahead. p's RLINK to s is paused, so p's last writes
   reach t only; p is SIGKILLed and s takes over. t holds seqs past the
   start of s's generation (row 6): it lists the regions of those seqs
   from its own SRL (a secondary keeps applied records while its SRL has
   room) and s resyncs just those and its own writes since: a partial
   resync, counted. p returns and fails back.
2. The third host behind. Now s is the primary; its RLINK to t is paused,
   so its last writes reach p only; s is SIGKILLed and p takes over. t
   holds no seq of p's new generation (row 5) and p still has the records
   t lacks in its SRL, kept from when it applied them as a secondary: t
   catches up by the ordered stream, with no resync at all. s returns and
   fails back.

3. The third host ahead, its SRL too small to list its extra seqs (4 MiB:
   it keeps at most 1 MiB of applied records). s's RLINK to t says
   `waiting for previous source`; when p returns and fails back, s keeps
   p's report, marks it in t's bitmap, and t rolls back by it: a partial
   resync, with no report of t's own.
4. As 3, but nobody returns: rvgadm resync --full on s ends the wait, and
   t gets every region.
5. As 4, but by the timeout: `set source_wait=2` on the waiting RLINK
   (applied to the running rvgd) ends the wait with a full resync.

At the end of each, all hosts hold the same bytes, which are the model's
(every write the surviving line made, the lost ones rolled back).
"""

import copy

import rlinkctl
import rvgdata
import rvgtest
from rvgtest import check, log
from test_failback import start_old_primary, wait_failback
from test_takeover import take_over_when_primary_silent

VOLUMES = [('a', '16M'), ('b', '16M')]
SIZES = [16 << 20, 16 << 20]
TOTAL = sum(SIZES)


def plan(seed, count, first_index):
    return rvgdata.numbered_plan(seed, count, SIZES, first_index)


def three_hosts(env, names=('p', 's', 't'), t_srl='64M'):
    """p primary of s and t; every host knows the other two (addsec with
    their keys), so any of them can be the primary of the others."""
    hosts = [env.host(n) for n in names]
    p, s, t = hosts
    for h in (s, t):
        h.create_secondary(VOLUMES, f'tcp://127.0.0.1:{rvgtest.free_port()}',
                           t_srl if h is t else '64M')
    p.listen = f'tcp://127.0.0.1:{rvgtest.free_port()}'
    p.rvgadm('create', p.rvg, *p._volume_args(VOLUMES), '--srl', f'{p.srl_path}:64M',
             '--role', 'primary', '--listen', p.listen)
    p.addsec(s)
    p.addsec(t)
    for h in (s, t):
        for other in hosts:
            if other is not h and other is not p:
                h.rvgadm('addsec', h.rvg, other.name, '--address', other.listen,
                         '--peer-key', other.pubkey())
        h.rvgadm('addsec', h.rvg, p.name, '--address', p.listen, '--peer-key', p.pubkey())
    s.start()
    t.start()
    p.start(mount=True)
    p.wait_connected()
    return p, s, t


def caught_up(primary, name):
    """Waits until RLINK `name` of `primary` is connected with nothing
    behind."""
    rlinkctl.wait_rlink(primary, f'{name} holds every write', lambda r: r['state'] == 'connected'
                        and r['writes_behind'] == 0, timeout=120, name=name)


def lose_the_primary(primary, model, bystander, paused, seed, index, count=8):
    """`primary` writes what only `bystander` receives (its RLINK to
    `paused` is paused), then dies. Returns the model with those writes."""
    primary.rvgadm('pauserep', primary.rvg, paused.name)
    lost = copy.deepcopy(model)
    primary.write_plan(lost, plan(seed, count, index))
    caught_up(primary, bystander.name)
    primary.kill9()
    rvgtest.lazy_unmount(primary.mountpoint)
    return lost


def resync_sent(primary, name):
    return (rlinkctl.rlink(primary, name).get('counters') or {}).get('resync_bytes_sent', 0)


def third_host_ahead(env):
    p, s, t = three_hosts(env)
    model = rvgdata.Model(SIZES, 71)
    p.write_plan(model, plan(71, 20, 0))
    p.drain()
    ahead = lose_the_primary(p, model, t, s, 72, 1000)
    check(ahead.volumes != model.volumes, 'the writes only t received changed nothing')
    take_over_when_primary_silent(s)
    s.write_plan(model, plan(73, 8, 2000))
    # t rolls back what only it had, and gets what s wrote since.
    caught_up(s, t.name)
    rlinkctl.check_partial_resync(s, t.name, TOTAL, "the third host's rollback", 'fork')
    check('failback' not in t.status()['flags'], f't still flagged: {t.status()["flags"]}')
    start_old_primary(p)
    wait_failback(p, s)
    s.drain()
    return p, s, t, model


def third_host_behind(p, s, t, model):
    # s is the primary now; t misses its last writes, p gets them.
    behind = lose_the_primary(s, model, p, t, 74, 3000)
    model = behind
    take_over_when_primary_silent(p)
    p.write_plan(model, plan(75, 8, 4000))
    caught_up(p, t.name)
    sent = resync_sent(p, t.name)
    check(sent == 0, f't behind the new primary was resynced ({sent} bytes) instead of '
          'streamed the records the new primary kept')
    log('t caught up from the records p kept in its SRL as a secondary: no resync')
    start_old_primary(s)
    wait_failback(s, p)
    p.drain()
    return model


def ahead_and_unlisted(env, names, seed):
    """Steps 3 and 4 up to the wait: returns (p, s, t, model) with s the
    new primary and its RLINK to t waiting for the previous source."""
    p, s, t = three_hosts(env, names, t_srl='4M')
    model = rvgdata.Model(SIZES, seed)
    p.write_plan(model, plan(seed, 10, 0))
    p.drain()
    lose_the_primary(p, model, t, s, seed + 1, 1000, count=20)
    take_over_when_primary_silent(s)
    s.write_plan(model, plan(seed + 2, 8, 2000))
    rlinkctl.wait_rlink(s, 'waits for the previous source',
                        lambda r: r['state'] == 'waiting for previous source', name=t.name)
    r = rlinkctl.rlink(s, t.name)
    check(r['waiting_for_source']['seconds_left'] > 0 and 'previous source' in r['last_error'],
          f'RLINK t while waiting: {r}')
    log(f'{s.name} waits for the previous source: {r["last_error"]}')
    return p, s, t, model


def source_reports(env):
    p, s, t, model = ahead_and_unlisted(env, ('p3', 's3', 't3'), 81)
    start_old_primary(p)
    wait_failback(p, s)
    caught_up(s, t.name)
    rlinkctl.check_partial_resync(s, t.name, TOTAL, "the rollback by the previous source's "
                                  'report', 'fork')
    return [p, s, t], model


def full_resync_ends_wait(env, names=('p4', 's4', 't4'), seed=91, by_timeout=False):
    p, s, t, model = ahead_and_unlisted(env, names, seed)
    if by_timeout:
        s.rvgadm('set', s.rvg, t.name, 'source_wait=2')
        check(rlinkctl.rlink(s, t.name)['source_wait'] == 2, 'source_wait not shown as set')
        rlinkctl.wait_rlink(s, 'the wait times out', lambda r: r['state'] != 'waiting for previous source', timeout=30, name=t.name)
        check('timeout' in s.log_text(), 'the log does not say the timeout ended the wait')
    else:
        s.rvgadm('resync', s.rvg, t.name, '--full')
    caught_up(s, t.name)
    counters = rlinkctl.rlink(s, t.name).get('counters') or {}
    region = 64 << 10
    covered = counters.get('resync_bytes_sent', 0) + counters.get('regions_zero', 0) * region
    check(covered >= TOTAL, f'resync --full after the wait covered {covered} of {TOTAL} bytes '
          f'({counters})')
    how = 'the timeout' if by_timeout else 'resync --full'
    log(f'{how} ended the wait: every region resynced ({counters})')
    return [s, t], model


def stopped_and_equal(hosts, model):
    for h in hosts:
        h.stop()
    for h in hosts:
        rvgtest.assert_images_hold(h, model, 'the surviving line')


def main(env):
    p, s, t, model = third_host_ahead(env)
    model = third_host_behind(p, s, t, model)
    stopped_and_equal([p, s, t], model)
    stopped_and_equal(*source_reports(env))
    stopped_and_equal(*full_resync_ends_wait(env))
    stopped_and_equal(*full_resync_ends_wait(env, ('p5', 's5', 't5'), 95, by_timeout=True))


if __name__ == '__main__':
    rvgtest.run(main)
