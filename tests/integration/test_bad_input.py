#!/usr/bin/python3
"""Hostile input to both daemons of a replicating pair.

To the secondary's replication endpoint (a ZeroMQ ROUTER), from DEALER
sockets: garbage frames, truncated msgpack, a 2 MiB header frame and a
2 MiB data frame, maps with wrong types, an unknown type and version, a
HELLO with a wrong RVG uuid (a REJECT comes back, if anything does) and
WRITEs with a forged session id aimed at a region the primary then writes.
To the primary's control socket: garbage from a REQ socket (an error reply
comes back, no hang) and from a DEALER.

Afterwards both daemons are the same processes, still serving; new writes
replicate; the forged WRITE's region holds the primary's data; the
secondary's log records the rejections.
"""

import os

import msgpack
import zmq

import rvgdata
import rvgtest
from rvgtest import check, log

VOLUMES = [('data', '16M'), ('logs', '8M')]
SEED = 77
FORGED_OFFSET = 1024 * 1024   # region of volume 0 the forged WRITEs aim at
FORGED_LENGTH = 4096
MSG_HELLO, MSG_REJECT, MSG_WRITE = 1, 3, 4   # header keys: net/messages.cpp
REPLY_WAIT_MS = 5000


def rvg_uuid(host):
    """The RVG's uuid: from status if it says, else from state.db."""
    st = host.status()
    if st.get('uuid'):
        return st['uuid']
    import sqlite3
    db = sqlite3.connect(f'file:{host.home}/state.db?mode=ro', uri=True, timeout=10)
    try:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            cols = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
            if 'uuid' in cols and 'name' in cols:
                row = db.execute(f'SELECT uuid FROM "{table}" WHERE name=?', (host.rvg,)).fetchone()
                if row and row[0]:
                    return row[0]
    finally:
        db.close()
    raise rvgtest.TestFailure('could not find the RVG uuid in status --json or state.db')


def dealer(ctx, endpoint):
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    return sock


def send_all(ctx, endpoint, batches):
    """Each batch (a list of multipart messages) from its own DEALER, so a
    peer dropped for one bad message does not hide the others."""
    for messages in batches:
        sock = dealer(ctx, endpoint)
        for frames in messages:
            sock.send_multipart(frames)
        sock.poll(200)  # give it a moment to go out before closing
        sock.close()


def hello(uuid, generation, volumes, **overrides):
    msg = {'t': MSG_HELLO, 'v': 1, 'rvg': 'rvg', 'uuid': uuid, 'gen': generation, 'rl': 's',
           'sid': 0x5EED5EED, 'last': 0, 'first': 0,
           'vols': [{'id': i, 'name': n, 'size': size} for i, (n, _, size) in enumerate(volumes)]}
    msg.update(overrides)
    return msgpack.packb(msg)


def garbage_to_secondary(ctx, endpoint, uuid, generation, volumes):
    good_hello = hello(uuid, generation, volumes)
    big = os.urandom(2 * 1024 * 1024)
    fake_write = msgpack.packb({'t': MSG_WRITE, 'v': 1, 'uuid': uuid, 'gen': generation,
                                'sid': 1, 'seq': 1, 'vol': 0, 'off': 0, 'len': len(big),
                                'crc': rvgdata.crc32c(big[:4096])})
    send_all(ctx, endpoint, [
        [[os.urandom(100)], [os.urandom(7), os.urandom(3000), b''], [b'']],
        [[good_hello[:len(good_hello) // 2]], [good_hello[:1]], [b'\xc1' * 64]],
        [[msgpack.packb([1, 2, 3])], [msgpack.packb('hello')], [msgpack.packb({})]],
        [[msgpack.packb({'t': 'hello', 'v': '1', 'uuid': 12, 'sid': -1, 'vols': 'none'})],
         [hello(uuid, generation, volumes, sid='x', last=-1)]],
        [[msgpack.packb({'t': 99, 'v': 1})], [hello(uuid, generation, volumes, v=2)]],
        [[hello(uuid, generation, volumes, vols=[{'id': 0, 'name': 'data', 'size': -5}])]],
        [[hello(uuid, generation, volumes, vols=[{'id': 0}] * 5000)]],
        [[big]],
        [[fake_write, big]],
    ])


def wrong_uuid_hello(ctx, endpoint, generation, volumes):
    sock = dealer(ctx, endpoint)
    try:
        sock.send(hello('00000000-0000-4000-8000-000000000000', generation, volumes))
        if not sock.poll(REPLY_WAIT_MS):
            log('no reply to a HELLO with a wrong RVG uuid (allowed: it was dropped)')
            return
        frames = sock.recv_multipart()
        reply = msgpack.unpackb(frames[0], raw=False)
        log(f'reply to a HELLO with a wrong RVG uuid: {reply}')
        check(isinstance(reply, dict) and reply.get('t') == MSG_REJECT,
              f'a HELLO with a wrong RVG uuid got {reply}, expected a REJECT (t={MSG_REJECT})')
    finally:
        sock.close()


def forged_writes(ctx, endpoint, uuid, generation, next_seq):
    data = b'\xee' * FORGED_LENGTH
    sock = dealer(ctx, endpoint)
    for i in range(4):
        header = msgpack.packb({'t': MSG_WRITE, 'v': 1, 'uuid': uuid, 'gen': generation,
                                'sid': 0xF0F0F0F0 + i, 'seq': next_seq + i, 'vol': 0,
                                'off': FORGED_OFFSET, 'len': FORGED_LENGTH,
                                'crc': rvgdata.crc32c(data)})
        sock.send_multipart([header, data])
    sock.poll(500)
    sock.close()


def garbage_to_control(ctx, endpoint):
    for payload in (b'\xc1garbage', msgpack.packb([1, 2]), msgpack.packb({'cmd': 'no-such'}),
                    msgpack.packb({'nocmd': True}), b''):
        req = ctx.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        req.connect(endpoint)
        try:
            req.send(payload)
            check(req.poll(REPLY_WAIT_MS), f'control socket gave no reply within '
                  f'{REPLY_WAIT_MS} ms to {payload[:16]!r}: it must answer with an error')
            reply = req.recv()
            try:
                decoded = msgpack.unpackb(reply, raw=False)
            except Exception:
                decoded = reply
            log(f'control reply to {payload[:16]!r}: {decoded}')
            if isinstance(decoded, dict):
                check(decoded.get('ok') is not True and any(k in decoded for k in ('error', 'ok')),
                      f'control reply to {payload[:16]!r} does not report an error: {decoded}')
        finally:
            req.close()
    sock = dealer(ctx, endpoint)  # a DEALER without the REQ envelope, then with it
    sock.send_multipart([b'\xc1' * 32])
    sock.send_multipart([os.urandom(10), os.urandom(10)])
    sock.send_multipart([b'', b'\xc1' * 32])
    sock.poll(500)
    sock.close()


def write_some(p, seed, count):
    sizes = [size for _, _, size in p.volumes]
    model = rvgdata.Model(sizes, seed)
    fds = [os.open(p.mounted(n), os.O_RDWR) for n, _, _ in p.volumes]
    try:
        for w in rvgdata.scatter_plan(seed, count, sizes):
            os.pwrite(fds[w.volume], model.apply(w), w.offset)
        region = rvgdata.pattern(seed, 10**6, FORGED_LENGTH)
        os.pwrite(fds[0], region, FORGED_OFFSET)
        for fd in fds:
            os.fsync(fd)
    finally:
        for fd in fds:
            os.close(fd)
    return region


def main(env):
    p, s = env.pair(VOLUMES, srl='32M')
    pids = (p.pid(), s.pid())
    write_some(p, SEED, 20)
    p.drain()
    st = p.status()
    uuid, generation = rvg_uuid(p), st['generation']
    log(f'rvg uuid {uuid}, generation {generation}, last_seq {st["last_seq"]}')

    ctx = zmq.Context()
    try:
        garbage_to_secondary(ctx, s.listen, uuid, generation, p.volumes)
        wrong_uuid_hello(ctx, s.listen, generation, p.volumes)
        forged_writes(ctx, s.listen, uuid, generation, st['last_seq'] + 1)
        garbage_to_control(ctx, f'ipc://{p.home}/run/{p.rvg}.ctl')
        garbage_to_control(ctx, f'ipc://{s.home}/run/{s.rvg}.ctl')
    finally:
        ctx.destroy(linger=0)

    check((p.pid(), s.pid()) == pids and p.alive() and s.alive(),
          f'a daemon died or was replaced: pids before {pids}, now {(p.pid(), s.pid())}')
    region = write_some(p, SEED + 1, 30)
    p.drain()
    rvgtest.assert_images_identical(p, s)
    with open(s.image('data'), 'rb') as f:
        f.seek(FORGED_OFFSET)
        check(f.read(FORGED_LENGTH) == region, 'the forged WRITE region on the secondary does '
              "not hold the primary's data")
    st = p.status()
    check(st['rlinks'][0]['state'] == 'connected', f'RLINK is {st["rlinks"][0]["state"]} after the attack')
    rejections = [line for line in s.log_text().splitlines() if 'reject' in line.lower()]
    check(rejections, f'the secondary log never mentions a rejected message:\n{s.log_tail(30)}')
    log(f'secondary log: {len(rejections)} lines about rejected messages, e.g.\n  '
        + '\n  '.join(rejections[:12]))
    p.stop()
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
