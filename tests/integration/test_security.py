#!/usr/bin/python3
"""Only the paired primary can touch a secondary, and nobody on the wire
can read the data (DESIGN.md, Security).

1. Secure by default: a fresh create + addsec leaves the link unpaired, and
   start refuses on both sides naming the `rvgadm trust` to run; a secret
   key file others may read is refused.
2. A key mismatch on either side: the secondary trusting another key
   refuses the primary in the handshake (the primary says which command
   fixes it); the primary pinning another key for the secondary cannot
   complete the handshake. Nothing is replicated either way.
3. Paired properly, the RLINK runs through a TCP tap: a random pattern
   written through the mount is replicated, and none of it crosses the
   wire in the clear.
4. While a writer replicates, attackers connect once each (no
   reconnects): one without CURVE, one with a key of its own (sending a
   HELLO and a WRITE with the real session id, read from the secondary's
   log). Neither gets an answer; the secondary counts exactly two refused
   handshakes and logs the stranger's key; no message of theirs reaches
   the decoder (rejected_messages does not move), and the real pair keeps
   replicating.
5. Control: an --insecure pair through the same kind of tap does show the
   pattern on the wire (so step 3 could fail), and status says INSECURE.
"""

import os
import time

import zmq

import rvgdata
import rvgtest
import wire
from rvgsys import free_port
from rvgtest import check, log, wait_until
from tcp_tap import TcpTap

VOLUMES = [('data', '16M')]
PATTERN_SEED = 4242
PATTERN_BYTES = 4 * 1024 * 1024


def expect_refused_start(host, *args, says):
    cp = host.rvgadm('start', host.rvg, *args, check=False)
    err = cp.stderr.strip()
    check(cp.returncode == 1 and says in err and err.count('\n') == 0,
          f'host {host.name}: start should fail with one line saying {says!r}; got exit '
          f'{cp.returncode}: {err!r}')
    log(f'{host.name}: start refused: {err}')


def rlink(p):
    return p.status()['rlinks'][0]


def make_hosts(env, prefix, tap_port, listen_port, insecure=False):
    p, s = env.host(prefix + 'p'), env.host(prefix + 's')
    listen = f'tcp://127.0.0.1:{listen_port}'
    extra = ['--insecure', '--rvg-uuid'] if insecure else []
    p.create_primary(VOLUMES, srl='32M')
    if insecure:
        extra.append(p.status()['uuid'])
    s.create_secondary(VOLUMES, listen, '32M', *extra)
    pairing = ['--insecure'] if insecure else []
    p.rvgadm('addsec', p.rvg, s.name, '--address', f'tcp://127.0.0.1:{tap_port}', *pairing)
    s.listen = listen
    return p, s


def write_pattern(p, offset=0):
    data = rvgdata.pattern(PATTERN_SEED, 0, PATTERN_BYTES)
    fd = os.open(p.mounted('data'), os.O_RDWR)
    try:
        os.pwrite(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    p.drain(timeout=120)
    return data


def leaked(captured, data, chunk=64):
    """How many of the pattern's chunks appear verbatim in the capture."""
    return sum(1 for i in range(0, len(data), 4096) if data[i:i + chunk] in captured)


def secure_by_default(env, p, s):
    check(s.status()['security'] == 'unpaired' and p.status()['security'] == 'unpaired',
          'a fresh secondary and an RLINK without keys must show security "unpaired"')
    expect_refused_start(s, says=f'rvgadm trust {s.rvg} KEY')
    os.makedirs(p.mountpoint, exist_ok=True)
    expect_refused_start(p, '--mount', p.mountpoint, says=f'rvgadm trust {p.rvg} {s.name} KEY')
    key_file = os.path.join(s.home, 'curve.key')
    os.chmod(key_file, 0o644)
    s.rvgadm('trust', s.rvg, p.pubkey())
    expect_refused_start(s, says='chmod 600')
    os.chmod(key_file, 0o600)


def mismatched_keys(env, p, s):
    _, stranger_public = (k.decode() for k in zmq.curve_keypair()[::-1])
    # The secondary trusts someone else: it refuses the primary's key.
    s.rvgadm('trust', s.rvg, stranger_public)
    p.rvgadm('trust', p.rvg, s.name, s.pubkey())
    s.start()
    p.start(mount=True)
    wait_until(lambda: 'refused this primary' in rlink(p).get('last_error', ''), 30,
               "the primary reports that the secondary refused its key",
               state=lambda: rlink(p))
    err = rlink(p)['last_error']
    check(f'rvgadm trust {p.rvg} {p.pubkey()}' in err, f'the error does not name the fix: {err!r}')
    wait_until(lambda: 'is not the pinned primary key' in s.log_text(), 10,
               "the secondary logs the refused key")
    check(s.status()['rejected_connections'] > 0, 'the refused handshake is not counted')
    p.stop()
    s.stop()
    # The primary pins the wrong key for the secondary: no handshake.
    s.rvgadm('trust', s.rvg, p.pubkey())
    p.rvgadm('trust', p.rvg, s.name, stranger_public)
    s.start()
    p.start(mount=True)
    wait_until(lambda: 'CURVE handshake' in rlink(p).get('last_error', ''), 30,
               'the primary reports the failed handshake', state=lambda: rlink(p))
    check(rlink(p)['state'] != 'connected', 'connected to a secondary with the wrong key')
    p.stop()
    s.stop()
    p.rvgadm('trust', p.rvg, s.name, s.pubkey())


def attack(env, s, uuid, generation):
    """Connects without CURVE and with a key of its own; returns how many
    answers came back (must be 0) and the stranger's public key."""
    session = [line.split('session ')[1].split()[0] for line in s.log_text().splitlines()
               if 'opened by primary' in line][-1]
    sid = int(session, 16)
    bad = b'\xee' * 4096
    ctx = zmq.Context()
    answers = 0
    try:
        plain = ctx.socket(zmq.DEALER)
        keyed = ctx.socket(zmq.DEALER)
        public, secret = zmq.curve_keypair()
        keyed.curve_publickey, keyed.curve_secretkey = public, secret
        keyed.curve_serverkey = s.pubkey().encode()
        last_seq = s.status()['last_seq']
        for sock in (plain, keyed):
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.RECONNECT_IVL, -1)  # one attempt each: counts are exact
            sock.connect(s.listen)
            # Never block: a DEALER whose only connection was refused (and
            # is not retried) has nowhere to queue a message.
            for frames in ([wire.hello(s.rvg, uuid, generation, wire.volumes_of(s), sid=sid)],
                           wire.write(uuid, generation, sid, last_seq + 1, 1, 0, bad)):
                try:
                    sock.send_multipart(frames, flags=zmq.NOBLOCK)
                except zmq.Again:
                    log('an attacker could not even queue its message (connection refused)')
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for sock in (plain, keyed):
                if sock.poll(100):
                    answers += 1
                    log(f'an attacker got an answer: {sock.recv_multipart()}')
    finally:
        ctx.destroy(linger=0)
    return answers, public.decode()


def main(env):
    tap_port, listen_port = free_port(), free_port()
    p, s = make_hosts(env, '', tap_port, listen_port)
    tap = TcpTap(tap_port, listen_port)
    env.on_cleanup('tcp tap', tap.close)
    secure_by_default(env, p, s)
    mismatched_keys(env, p, s)
    tap.reset()
    s.start()
    p.start(mount=True)
    p.wait_connected()
    check(p.status()['rlinks'][0]['security'] == 'curve' and s.status()['security'] == 'curve',
          'a paired link must show security "curve"')
    data = write_pattern(p)
    captured = tap.bytes_seen()
    check(len(captured) > PATTERN_BYTES, f'the tap saw only {len(captured)} bytes: the RLINK '
          'did not run through it')
    n = leaked(captured, data)
    check(n == 0, f'{n} chunks of the written pattern crossed the wire in the clear')
    log(f'tap: {len(captured)} bytes captured, no chunk of the {PATTERN_BYTES}-byte pattern')

    uuid, generation = p.status()['uuid'], p.status()['generation']
    writer, _ = env.block_writer(p, 7, rate=400)
    before = s.status()['rejected_connections']
    messages_before = s.status()['rejected_messages']
    answers, stranger = attack(env, s, uuid, generation)
    check(answers == 0, f'attackers got {answers} answers; an unpaired peer must get none')
    wait_until(lambda: s.status()['rejected_connections'] >= before + 2, 10,
               'both attackers are refused in the handshake',
               state=lambda: s.status()['rejected_connections'])
    refused = s.status()['rejected_connections'] - before
    check(refused == 2, f'{refused} refused handshakes counted for two one-shot attackers')
    check(f'its key {stranger} is not the pinned primary key' in s.log_text(),
          "the secondary's log does not name the stranger's refused key")
    check(s.status()['rejected_messages'] == messages_before,
          'an attacker\'s message reached the decoder: the handshake should have stopped it')
    rc, _ = env.wait_writer(writer, 120)
    check(rc == 0, f'the writer failed (exit {rc}) while attackers knocked')
    p.drain(timeout=120)
    rvgtest.assert_images_identical(p, s)
    p.stop()
    s.stop()

    # Control: the same tap on an insecure link sees the data.
    tap2_port, listen2_port = free_port(), free_port()
    lp, ls = make_hosts(env, 'lab', tap2_port, listen2_port, insecure=True)
    tap2 = TcpTap(tap2_port, listen2_port)
    env.on_cleanup('tcp tap 2', tap2.close)
    ls.start()
    lp.start(mount=True)
    lp.wait_connected()
    table = lp.rvgadm('status', lp.rvg).stdout
    check('INSECURE' in table, f'status of an insecure RVG does not say so:\n{table}')
    data = write_pattern(lp)
    n = leaked(tap2.bytes_seen(), data)
    check(n > 0, 'an insecure link showed none of the pattern: the tap check proves nothing')
    log(f'control: {n} chunks of the pattern seen on the insecure link')
    lp.stop()
    ls.stop()


if __name__ == '__main__':
    rvgtest.run(main)
