#!/usr/bin/python3
"""Synchronous replication: synchronous=fail, override, and sync_ack=durable.

Every attribute is changed with `rvgadm set` while rvgd runs (live).

1. fail, secondary held still (SIGSTOP): a write is answered (flush
   contract: it is in the SRL) but the fsync after it fails with EIO once
   ack_timeout passes. Secondary killed: the RLINK is disconnected and new
   writes fail with EIO, and so does fsync. The secondary returns: writes
   and fsyncs work again, and every block fsynced before the outage is on
   both sides, the images identical.
2. override, secondary killed: writes and fsyncs go on (the RLINK turns
   asynchronous, status says so); the secondary returns, catches up and
   the RLINK is synchronous again by itself.
3. sync_ack=durable: after each fsync returns, and after each O_DSYNC
   write, the secondary is SIGKILLed at once and its image file must
   already hold the block (the data ack means applied and fdatasynced).
"""

import os

import rlinkctl
import rvgtest
from rlinkctl import Volume, expect_eio, wait_rlink
from rvgtest import check, log

VOLUMES = [('a', '16M')]


def synchronous_fail(env, p, s):
    p.rvgadm('set', 'rvg', 's', 'synchronous=fail', 'ack_timeout=1')
    wait_rlink(p, 'synchronous now', lambda r: r.get('synchronous_effective') == 'sync')
    with Volume(p.mounted('a')) as vol:
        fail_while_down(p, s, vol)
    p.drain()
    for i in range(18):
        for host in (p, s):
            got = rlinkctl.image_block(host.image('a'), i)
            check(got == rlinkctl.block(i), f'{host.name}: block {i} lost after the outage')
    rvgtest.assert_images_identical(p, s)
    log('fail: every block acknowledged before the outage is on both sides')


def fail_while_down(p, s, vol):
    for i in range(16):
        vol.write(i)
    vol.fsync()
    log('fail: 16 blocks written and fsynced while connected')

    s.freeze()
    vol.write(16)  # admitted: the RLINK is still connected
    expect_eio('fsync with the secondary held still (synchronous=fail)', vol.fsync)
    log('fail: fsync failed with EIO after ack_timeout while the secondary was held still')
    s.kill9()
    wait_rlink(p, 'not connected', lambda r: r.get('state') != 'connected')
    expect_eio('write with the secondary down (synchronous=fail)', lambda: vol.write(17))
    expect_eio('fsync with the secondary down (synchronous=fail)', vol.fsync)
    log('fail: write and fsync fail with EIO while the secondary is down')

    rlinkctl.reconnect(p, s)
    vol.write(17)
    vol.fsync()


def synchronous_override(env, p, s):
    p.rvgadm('set', 'rvg', 's', 'synchronous=override', 'ack_timeout=1')
    wait_rlink(p, 'synchronous now', lambda r: r.get('synchronous_effective') == 'sync')
    s.kill9()
    with Volume(p.mounted('a')) as vol:
        for i in range(32, 64):
            vol.write(i, b'override')
            vol.fsync()
        log('override: 32 writes, each fsynced, went on with the secondary down')
        r = rlinkctl.rlink(p)
        check(r['synchronous'] == 'override' and r['synchronous_effective'] == 'async',
              f'override with the secondary down: status says {r["synchronous"]} / '
              f'{r["synchronous_effective"]}, expected override / async')
        # reconnect() waits for the RLINK to be synchronous again by itself.
        rlinkctl.reconnect(p, s)
        vol.write(64, b'override')
        vol.fsync()
    p.drain()
    rvgtest.assert_images_identical(p, s)
    log('override: caught up, synchronous again, images identical')


def durable_acks(env, p, s):
    p.rvgadm('set', 'rvg', 's', 'synchronous=fail', 'sync_ack=durable', 'ack_timeout=10')
    wait_rlink(p, 'synchronous now', lambda r: r.get('synchronous_effective') == 'sync')
    for round_, flags in enumerate((0, os.O_DSYNC)):
        i = 100 + round_
        with Volume(p.mounted('a'), flags) as vol:
            vol.write(i, b'durable')
            if not flags:
                vol.fsync()
            # The write (O_DSYNC) or the fsync has returned: it is in the
            # secondary's image now, whatever happens to the secondary.
            s.kill9()
        got = rlinkctl.image_block(s.image('a'), i)
        check(got == rlinkctl.block(i, b'durable'),
              f'sync_ack=durable: block {i} acknowledged ({"O_DSYNC write" if flags else "fsync"})'
              ' is not in the secondary image after a SIGKILL of the secondary')
        rlinkctl.reconnect(p, s)
    log('durable: acknowledged writes were in the secondary image at the moment of SIGKILL')


def main(env):
    p, s = env.pair(VOLUMES)
    synchronous_fail(env, p, s)
    synchronous_override(env, p, s)
    durable_acks(env, p, s)


if __name__ == '__main__':
    rvgtest.run(main)
