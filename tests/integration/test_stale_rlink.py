#!/usr/bin/python3
"""A stale RLINK that then fails must not pin the primary's SRL.

A secondary that needs a full sync (it is behind the SRL's tail) is stale,
and a stale RLINK does not hold the SRL: the primary keeps writing. If
that secondary then also refuses replication for good (REJECT, no retry),
the RLINK must stay stale: marked failed instead, it would pin the SRL at
its old data ack, the small log would fill, and every writer would hang.

1. A real pair with a 4 MiB SRL replicates 1 MiB; the checkpoint releases
   it from the SRL.
2. The secondary stops; a fake secondary on its endpoint answers HELLO
   with WELCOME at seq 0 (behind the tail: stale), and every later HELLO
   with a REJECT that says not to retry.
3. status shows the RLINK stale, with the refusal as its last error, and
   12 MiB of fsynced writes go through the mount (three times the SRL).
"""

import os
import threading

import msgpack
import zmq

import rvgtest
import wire
from rvgtest import check, log, wait_until

VOLUMES = [('a', '16M')]
MIB = 1 << 20
MSG_HELLO, MSG_WELCOME, MSG_REJECT = 1, 2, 3   # net/messages.h


class FakeSecondary:
    """A ROUTER on `endpoint` that poses as the secondary (a CURVE server
    with its secret key, so the primary's check of the server key passes):
    the first HELLO gets WELCOME at seq 0, the others a REJECT with retry
    false."""

    def __init__(self, endpoint, secret_key):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.curve_server = True
        self.sock.curve_secretkey = secret_key.encode()
        self.sock.bind(endpoint)
        self.welcomes = 0
        self.rejects = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            if not self.sock.poll(100):
                continue
            frames = self.sock.recv_multipart()
            try:
                msg = msgpack.unpackb(frames[1], raw=False)
            except Exception:
                continue
            if not isinstance(msg, dict) or msg.get('t') != MSG_HELLO:
                continue
            if self.welcomes == 0:
                reply = {'t': MSG_WELCOME, 'v': wire.VERSION, 'uuid': msg['uuid'], 'gen': msg['gen'],
                         'sid': msg['sid'], 'app': 0, 'host': 'fake', 'hist': msg['hist']}
                self.welcomes += 1
            else:
                reply = {'t': MSG_REJECT, 'v': wire.VERSION, 'sid': msg['sid'], 'retry': False,
                         'why': 'test: this secondary refuses replication'}
                self.rejects += 1
            self.sock.send_multipart([frames[0], msgpack.packb(reply)])

    def close(self):
        self.stop.set()
        self.thread.join(10)
        self.sock.close()
        self.ctx.term()


def write_fsynced(path, total, timeout):
    """Writes `total` bytes in 1 MiB pieces, fsync after each, from a
    thread; fails the test if that does not finish within `timeout`."""
    errors = []

    def run():
        try:
            fd = os.open(path, os.O_WRONLY)
            try:
                for i in range(total // MIB):
                    check(os.pwrite(fd, bytes([i + 1]) * MIB, i * MIB) == MIB, 'short write')
                    os.fsync(fd)
            finally:
                os.close(fd)
        except Exception as e:  # reported below
            errors.append(str(e))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    check(not t.is_alive(), f'{total // MIB} MiB of writes into a 4 MiB SRL still blocked '
          f'after {timeout} s: the stale, refused RLINK pins the SRL')
    check(not errors, f'writes failed: {errors}')


def rlink(p):
    return p.status()['rlinks'][0]


def main(env):
    p, s = env.pair(VOLUMES, srl='4M')
    write_fsynced(p.mounted('a'), MIB, 60)
    p.drain(timeout=60)
    wait_until(lambda: p.status()['srl']['used'] == 0, 30,
               'the checkpoint releases the replicated write from the SRL')

    s.stop()
    fake = FakeSecondary(s.listen, s.secret_key())
    env.on_cleanup('fake secondary', fake.close)
    wait_until(lambda: rlink(p)['state'] == 'stale', 60,
               'the RLINK turns stale when the secondary is behind the SRL tail')
    wait_until(lambda: fake.rejects > 0 and 'refuses replication' in rlink(p)['last_error'],
               60, 'the primary takes in the REJECT')
    state = rlink(p)['state']
    check(state == 'stale', f'a stale RLINK that was then refused shows {state!r}; it needs a '
          'full sync whatever else happened, and must stay stale')
    log('RLINK stale and refused; writing three times the SRL')

    write_fsynced(p.mounted('a'), 12 * MIB, 120)
    check(p.status()['health'] == 'ok', f"primary health: {p.status()['health']}")
    log('12 MiB went through a 4 MiB SRL past the stale RLINK')
    p.stop()


if __name__ == '__main__':
    rvgtest.run(main)
