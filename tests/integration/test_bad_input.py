#!/usr/bin/python3
"""Hostile input to a replicating pair whose link is --insecure, the one
setting where a stranger's messages reach the secondary's decoder at all
(with CURVE they stop at the handshake: test_security.py). Every case
checks that it was refused for the reason it names: the secondary's
rejected_messages counter moves by what the case sent and its log gives
that reason. The decoder's and the stolen session's cases also check the
counter by reason (status' rejected_by_reason, and
rvg_rejected_messages_total{reason} in `rvgadm metrics`: "malformed",
"session"). HELLOs use the real volume layout (ids from 1) and uuid, so a
refusal is not an accident of a malformed HELLO.

While the real primary is live:
 1. garbage, truncated msgpack, a header that is not a map, a frame with
    too many parts: refused by the decoder ("malformed header");
 2. a valid HELLO from another connection (a takeover attempt): refused,
    the session stays with the primary; the reply is generic and carries
    nothing about the RVG (no name, uuid, generation or layout);
 3. a WRITE with the real session id (stolen from the log) from another
    connection: refused as outside the session; the image is untouched;
 4. a REJECT with the real session id from another connection (a forged
    close): refused as outside the session, the primary keeps it;
 5. a frame over the size limit: ZeroMQ drops the connection before rvgd
    buffers it (the counter does not move, the daemon lives);
and, last (it spends the rejection log the other cases read),
 6. a HELLO flood: replies come at most at the reply rate.
The primary's own close frees the session at once (doc/wire-protocol.md,
"Closing"): after a restart of its rvgd and after stoprep + startrep
--full, its new connection gets in without one HELLO refused as busy,
long before the dead timeout would have freed the old session.
With the primary SIGKILLed (no goodbye: its session silent past the dead
timeout), a stranger opens a session (insecure links have no other fence) and sends a
WRITE with a bad checksum, one for a volume that does not exist, one too
far ahead and one planted for a future seq. When the primary returns, its
new session drops the planted write, and the images end up identical.
The control sockets get garbage too and answer with errors.
"""

import os
import re
import time

import msgpack
import zmq

import rvgdata
import rvgtest
import wire
from rvgsys import free_port
from rvgtest import check, log, wait_until

VOLUMES = [('data', '16M'), ('logs', '8M')]
SEED = 77
FORGED_OFFSET = 1024 * 1024
FORGED_LENGTH = 4096
REPLY_WAIT_MS = 3000
GENERIC = 'refused by the secondary (its log says why)'   # kGenericRefusal


def make_pair(env):
    p, s = env.host('p'), env.host('s')
    p.create_primary(VOLUMES, srl='32M')
    listen = f'tcp://127.0.0.1:{free_port()}'
    s.create_secondary(VOLUMES, listen, '32M', '--insecure', '--rvg-uuid', p.status()['uuid'])
    p.addsec(s, insecure=True)
    s.start()
    p.start(mount=True)
    p.wait_connected()
    return p, s


class Attacker:
    """DEALER sockets to the secondary; each case uses a fresh one."""

    def __init__(self, s):
        self.s = s
        self.ctx = zmq.Context()

    def socket(self):
        sock = self.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.s.listen)
        return sock

    def replies(self, sock, wait_ms=REPLY_WAIT_MS):
        out = []
        deadline = time.monotonic() + wait_ms / 1000
        while time.monotonic() < deadline:
            if sock.poll(50):
                out.append(wire.decode(sock.recv_multipart()[0]))
        return out

    def close(self):
        self.ctx.destroy(linger=0)


def rejected(s):
    return s.status()['rejected_messages']


def by_reason(s, reason):
    return s.status()['rejected_by_reason'][reason]


def exported_rejections(s, reason):
    """rvg_rejected_messages_total{reason} in the secondary's metrics."""
    text = s.rvgadm('metrics', s.rvg).stdout
    m = re.search(r'^rvg_rejected_messages_total\{rvg="[^"]*",reason="%s"\} (\S+)$' % reason,
                  text, re.MULTILINE)
    return float(m.group(1)) if m else None


def expect_by_reason(s, reason, before, count, what):
    """The reason's counter moved by exactly `count`, and the metrics text
    exports the same value."""
    now = by_reason(s, reason)
    check(now == before + count, f'{what}: {reason} went from {before} to {now}, expected +{count}')
    check(exported_rejections(s, reason) == now,
          f'{what}: rvg_rejected_messages_total{{reason="{reason}"}} is '
          f'{exported_rejections(s, reason)}, status says {now}')
    log(f'{what}: counted as {reason} ({now}), exported as such')


def log_mark(s):
    """Where the secondary's log ends now: a case reads only what follows."""
    return len(s.log_text())


def expect_rejections(s, before, mark, count, reasons, what):
    """The counter moved by exactly `count` and the log lines written since
    `mark` give every one of `reasons`."""
    wait_until(lambda: rejected(s) >= before + count, 10, f'{what}: {count} rejections counted',
               state=lambda: rejected(s) - before)
    got = rejected(s) - before
    check(got == count, f'{what}: {got} rejections counted, expected {count}')
    new = s.log_text()[mark:]
    for reason in reasons:
        check(reason in new, f'{what}: the log does not give the reason {reason!r}:\n{new[-2000:]}')
    log(f'{what}: {count} rejected, log says {reasons}')


def check_discloses_nothing(reply, p, what):
    check(reply and reply.get('t') == wire.REJECT, f'{what}: expected a REJECT, got {reply}')
    text = msgpack.packb(reply)
    st = p.status()
    for secret in (st['uuid'], st['generation'], 'data', 'logs', str(16 * 1024 * 1024)):
        check(secret.encode() not in text, f'{what}: the REJECT discloses {secret!r}: {reply}')
    check(reply.get('why') == GENERIC, f'{what}: the REJECT is not the generic one: {reply}')


def decoder_cases(a, s):
    before = rejected(s)
    malformed = by_reason(s, 'malformed')
    sock = a.socket()
    good = wire.hello(s.rvg, 'u', 'g', wire.volumes_of(s))
    cases = [([b'\xc1' * 64], 'not valid msgpack'),
             ([good[:len(good) // 2]], 'truncated msgpack'),
             ([msgpack.packb([1, 2, 3])], 'top level is array'),
             ([b'a', b'b', b'c', b'd'], 'frames (expected 1 or 2)')]
    for frames, reason in cases:
        mark = log_mark(s)
        sock.send_multipart(frames)
        expect_rejections(s, before, mark, 1, [reason], f'garbage {frames[0][:8]!r}')
        before += 1
    sock.close()
    expect_by_reason(s, 'malformed', malformed, len(cases), 'garbage')


def takeover(a, s, p):
    st = p.status()
    before, mark = rejected(s), log_mark(s)
    sock = a.socket()
    sock.send(wire.hello(s.rvg, st['uuid'], st['generation'], wire.volumes_of(s), sid=0xBAD))
    replies = a.replies(sock)
    check(len(replies) == 1, f'takeover HELLO: expected one REJECT, got {replies}')
    check_discloses_nothing(replies[0], p, 'takeover HELLO')
    expect_rejections(s, before, mark, 1, ['holds a live session'], 'takeover HELLO')
    sock.close()


def stolen_session(a, s):
    sid = current_sid(s)
    before, mark = rejected(s), log_mark(s)
    session = by_reason(s, 'session')
    sock = a.socket()
    data = b'\xee' * FORGED_LENGTH
    for i in range(3):
        sock.send_multipart(wire.write('x', 'y', sid, 10**5 + i, 1, FORGED_OFFSET, data))
    expect_rejections(s, before, mark, 3, ['WRITE seq 100000 outside the current session'],
                      'stolen session id')
    expect_by_reason(s, 'session', session, 3, 'stolen session id')
    sock.close()


def current_sid(s):
    return int(re.findall(r'session ([0-9a-f]{16}) opened', s.log_text())[-1], 16)


def forged_close(a, s):
    sid = current_sid(s)
    before, mark = rejected(s), log_mark(s)
    session = by_reason(s, 'session')
    sock = a.socket()
    sock.send(wire.reject(sid, 'forged close'))
    expect_rejections(s, before, mark, 1, ['REJECT outside the current session'], 'forged close')
    expect_by_reason(s, 'session', session, 1, 'forged close')
    check(current_sid(s) == sid and 'closed by primary' not in s.log_text()[mark:],
          'a forged REJECT closed the session')
    sock.close()


def primary_closes(s, p, how, reconnect):
    """`reconnect` ends the primary's session and starts a new one: the
    secondary logs the close, and refuses no HELLO of the new connection."""
    sid, mark = current_sid(s), log_mark(s)
    session = by_reason(s, 'session')
    reconnect()
    p.wait_connected(timeout=60)
    new = s.log_text()[mark:]
    check(f'session {sid:016x} closed by primary' in new,
          f'{how}: the secondary did not hear the primary close its session:\n{new[-2000:]}')
    check(current_sid(s) != sid, f'{how}: no new session opened')
    check(by_reason(s, 'session') == session,
          f'{how}: the new connection was refused as busy '
          f'{by_reason(s, "session") - session} times (the old session was not freed)')
    log(f'{how}: session closed by the primary, the new one let in at once')


def restart_primary(p):
    p.stop()
    p.start(mount=True)


def stop_start_rep(p):
    p.rvgadm('stoprep', p.rvg, 's')
    p.rvgadm('startrep', p.rvg, 's', '--full', '--wait', timeout=120)


def oversized(a, s):
    before = rejected(s)
    sock = a.socket()
    sock.send(os.urandom(2 * 1024 * 1024))
    sock.send_multipart([b'x' * 100, os.urandom(2 * 1024 * 1024)])
    check(not a.replies(sock, 1000), 'an oversized frame got an answer')
    check(rejected(s) == before, 'an oversized frame reached rvgd (counted as rejected)')
    check(s.alive(), 'the secondary died of an oversized frame')
    log('oversized frames: dropped by ZeroMQ, rvgd never saw them')
    sock.close()


def flood(a, s, p):
    st = p.status()
    sock = a.socket()
    before = rejected(s)
    hello = wire.hello(s.rvg, st['uuid'], st['generation'], wire.volumes_of(s), sid=0xF100D)
    started = time.monotonic()
    for _ in range(2000):
        sock.send(hello)
    replies = a.replies(sock, 2500)
    elapsed = time.monotonic() - started
    wait_until(lambda: rejected(s) >= before + 2000, 20, 'every flooded HELLO is counted',
               state=lambda: rejected(s) - before)
    # SessionGateOptions: 20 replies per second.
    limit = 20 * (int(elapsed) + 2)
    check(len(replies) <= limit, f'HELLO flood: {len(replies)} replies in {elapsed:.1f}s, '
          f'the rate limit allows {limit}')
    log(f'HELLO flood: 2000 sent, {len(replies)} answered in {elapsed:.1f}s')
    sock.close()


def stranger_session(a, s, p):
    """With the primary gone, a stranger opens a session and tries bad and
    planted writes; returns the seq it planted."""
    st = p.status()
    base = st['last_seq']
    p.kill9()  # no goodbye: only the silence frees its session
    sock = a.socket()
    hello = wire.hello(s.rvg, st['uuid'], st['generation'], wire.volumes_of(s), sid=0x57A)
    welcome = None
    deadline = time.monotonic() + 30
    while welcome is None and time.monotonic() < deadline:
        sock.send(hello)
        for reply in a.replies(sock, 1000):
            if reply and reply.get('t') == wire.WELCOME:
                welcome = reply
    check(welcome is not None, 'the dead primary\'s session was never freed for a new peer')
    uuid, gen = st['uuid'], st['generation']
    # HELLOs that fail the secondary's own checks, on the stranger's
    # session connection (so fencing does not stop them first): each is
    # refused with the generic reason, the real one goes to the log.
    other_layout = wire.volumes_of(s)[:1]
    for msg, reason in ((wire.hello(s.rvg, '00000000-0000-4000-8000-000000000000', gen,
                                    wire.volumes_of(s), sid=0x57B), 'from another RVG'),
                        (wire.hello(s.rvg, uuid, gen, other_layout, sid=0x57C),
                         'volume layout differs'),
                        (wire.hello(s.rvg, uuid, gen, wire.volumes_of(s), sid=0x57D, last=1),
                         'histories diverged')):
        before, mark = rejected(s), log_mark(s)
        sock.send(msg)
        replies = a.replies(sock, 1500)
        check_discloses_nothing(replies[0] if replies else None, p, f'HELLO ({reason})')
        expect_rejections(s, before, mark, 1, [reason], f'HELLO refused: {reason}')
    good = b'\xee' * FORGED_LENGTH
    before, mark = rejected(s), log_mark(s)
    header, data = wire.write(uuid, gen, 0x57A, base + 1, 1, FORGED_OFFSET, good)
    sock.send_multipart([header, b'\x00' + data[1:]])  # CRC of other bytes
    sock.send_multipart(wire.write(uuid, gen, 0x57A, base + 1, 99, 0, good))
    sock.send_multipart(wire.write(uuid, gen, 0x57A, base + 2**30, 1, 0, good))
    expect_rejections(s, before, mark, 3, ['checksum', 'for volume 99', 'too far ahead'],
                      'stranger\'s bad writes')
    planted = base + 3
    before = rejected(s)
    sock.send_multipart(wire.write(uuid, gen, 0x57A, planted, 1, FORGED_OFFSET, good))
    sock.send(msgpack.packb([0]))  # refused after the planted write: proves it was taken
    wait_until(lambda: rejected(s) > before, 10, 'the planted write is processed')
    sock.close()
    return planted


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
            decoded = msgpack.unpackb(req.recv(), raw=False)
            check(isinstance(decoded, dict) and decoded.get('ok') is False and decoded.get('error'),
                  f'control reply to {payload[:16]!r} does not report an error: {decoded}')
        finally:
            req.close()


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
    p, s = make_pair(env)
    write_some(p, SEED, 20)
    p.drain()
    pids = (p.pid(), s.pid())
    a = Attacker(s)
    env.on_cleanup('attacker sockets', a.close)
    decoder_cases(a, s)
    takeover(a, s, p)
    stolen_session(a, s)
    forged_close(a, s)
    oversized(a, s)
    check(p.status()['rlinks'][0]['state'] == 'connected',
          'the real primary lost its session to the attacks')
    primary_closes(s, p, 'stoprep + startrep --full', lambda: stop_start_rep(p))
    garbage_to_control(a.ctx, f'ipc://{p.home}/run/{p.rvg}.ctl')
    garbage_to_control(a.ctx, f'ipc://{s.home}/run/{s.rvg}.ctl')
    check((p.pid(), s.pid()) == pids and p.alive() and s.alive(),
          f'a daemon died or was replaced: pids before {pids}, now {(p.pid(), s.pid())}')
    primary_closes(s, p, 'restart of the primary', lambda: restart_primary(p))

    planted = stranger_session(a, s, p)
    p.start(mount=True)
    p.wait_connected(timeout=60)
    wait_until(lambda: 'writes held ahead dropped' in s.log_text(), 10,
               f'the new session drops the write planted for seq {planted}')
    region = write_some(p, SEED + 1, 30)
    p.drain()
    rvgtest.assert_images_identical(p, s)
    with open(s.image('data'), 'rb') as f:
        f.seek(FORGED_OFFSET)
        check(f.read(FORGED_LENGTH) == region, "the forged WRITE region on the secondary does "
              "not hold the primary's data")
    # Last: the flood spends the secondary's rejection log (20 lines per
    # 10 s), which the cases above read their reasons from.
    flood(a, s, p)
    check(p.status()['rlinks'][0]['state'] == 'connected',
          'the real primary lost its session to the HELLO flood')
    p.stop()
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
