#!/usr/bin/python3
"""rvgd's control socket against hostile and slow requests.

- The socket file is mode 0600.
- 300 KB of nested msgpack arrays, a request of 2000 frames and bad drain
  timeouts get error replies; rvgd keeps answering status.
- rvgadm refuses a --timeout beyond a week before asking rvgd.
- While a drain waits for a stopped secondary, status is answered, and
  both `rvgadm stop` and SIGTERM stop rvgd, ending the drain with an error.
- A connection from another uid is refused even when the file modes would
  let it in (root only: needs a second user).
"""

import math
import os
import signal
import subprocess

import msgpack
import zmq

import rvgtest
from rvgsys import pid_alive
from rvgtest import check, log, wait_until

VOLUMES = [('data', '8M')]


def ask(endpoint, frames, timeout=5.0):
    """Sends `frames` (bytes) as one request from a REQ socket; returns the
    decoded reply, or None when none comes within `timeout` seconds."""
    ctx = zmq.Context()
    try:
        sock = ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint)
        sock.send_multipart(frames)
        if not sock.poll(int(timeout * 1000)):
            return None
        return msgpack.unpackb(sock.recv(), raw=False)
    finally:
        ctx.destroy(linger=0)


def request(endpoint, **fields):
    return ask(endpoint, [msgpack.packb(fields)])


def check_refused(reply, what, mentions):
    check(reply is not None, f'{what}: rvgd did not answer')
    check(reply.get('ok') is False and mentions in reply.get('error', ''),
          f'{what}: expected an error mentioning {mentions!r}, got {reply}')
    log(f'{what}: refused: {reply["error"]}')


def check_status_answers(p, endpoint, after):
    reply = request(endpoint, cmd='status')
    check(reply is not None and reply.get('ok') is True,
          f'after {after}: status got {reply}')


def hostile_requests(p):
    endpoint = f'ipc://{p.home}/run/{p.rvg}.ctl'
    nested = b'\x81\xa1k' + b'\x91' * (300 * 1024) + b'\xc0'
    check_refused(ask(endpoint, [nested]), '300 KB of nested arrays', 'nested deeper')
    check(p.alive(), 'rvgd died of a request of nested msgpack arrays')
    check_status_answers(p, endpoint, 'nested arrays')

    frames = [msgpack.packb({'cmd': 'status'})] * 2000
    check_refused(ask(endpoint, frames), 'a request of 2000 frames', 'got 2000')
    for bad in (math.nan, -1, 1e300, math.inf):
        check_refused(request(endpoint, cmd='drain', timeout=bad), f'drain timeout {bad}',
                      'timeout')
    check_refused(request(endpoint, cmd='drain', timeout='soon'), 'drain timeout "soon"',
                  'timeout')
    check_status_answers(p, endpoint, 'bad timeouts')

    cp = p.rvgadm('drain', p.rvg, '--timeout', 10 ** 9, check=False)
    check(cp.returncode == 2 and 'a week' in cp.stderr,
          f'drain --timeout 1e9: exit {cp.returncode}, stderr {cp.stderr!r}')


def write_something(p):
    fd = os.open(p.mounted('data'), os.O_RDWR)
    try:
        os.pwrite(fd, os.urandom(64 * 1024), 0)
        os.fsync(fd)
    finally:
        os.close(fd)


def start_drain(env, p, n):
    """A drain that cannot finish (the secondary is stopped); returns its
    Popen once rvgd logged that it started."""
    before = p.log_text().count('drain of every RLINK started')
    proc = env.spawn(p.argv('drain', p.rvg, '--timeout', 600), stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True)
    wait_until(lambda: p.log_text().count('drain of every RLINK started') > before, 30,
               f'rvgd logs that drain {n} started')
    return proc


def finish_drain(proc, n):
    out, err = proc.communicate(timeout=60)
    check(proc.returncode == 1 and 'stopping' in err,
          f'drain {n} ended by a stop: exit {proc.returncode}, stderr {err!r}')
    log(f'drain {n}: {err.strip()}')


def stop_during_drain(env, p, s):
    s.stop()
    write_something(p)
    drain = start_drain(env, p, 1)
    for _ in range(3):
        st = p.status()  # answered at once: the drain runs off the control thread
        check(st['running'] and drain.poll() is None, f'status during the drain: {st}')
    p.stop()
    finish_drain(drain, 1)

    p.start(mount=True)
    drain = start_drain(env, p, 2)
    pid = p.pid()
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not pid_alive(pid), 60, 'rvgd exits on SIGTERM during a drain')
    finish_drain(drain, 2)
    check(rvgtest.mount_entry(p.mountpoint) is None, 'SIGTERM left the mount behind')


def other_uid_refused(env, p):
    """Opens the file modes wide so that only rvgd's uid check stands in the
    way, then connects as another user."""
    user = env.add_user()
    uid = int(rvgtest.run_cmd(['id', '-u', user]).stdout)
    socket_path = os.path.join(p.home, 'run', p.rvg + '.ctl')
    for path in (env.root, p.dir, p.home, os.path.join(p.home, 'run')):
        os.chmod(path, 0o711)
    os.chmod(socket_path, 0o666)
    try:
        # A refused handshake drops the REQ socket's only pipe, after which a
        # send would block: the send times out too. os._exit: no context
        # teardown, which can wait on the reconnecting socket.
        script = ('import os, sys, zmq, msgpack\n'
                  'c = zmq.Context(); s = c.socket(zmq.REQ); s.setsockopt(zmq.LINGER, 0)\n'
                  's.setsockopt(zmq.SNDTIMEO, 3000); s.connect(sys.argv[1])\n'
                  'try:\n'
                  '    s.send(msgpack.packb({"cmd": "status"})); got = s.poll(3000)\n'
                  'except zmq.Again:\n'
                  '    got = False\n'
                  'print("reply" if got else "no-reply", flush=True); os._exit(0)\n')
        out = rvgtest.run_cmd(['runuser', '-u', user, '--', '/usr/bin/python3', '-c', script,
                               f'ipc://{socket_path}'], cwd='/').stdout.strip()
        check(out == 'no-reply', f'uid {uid} got an answer from rvgd\'s control socket: {out}')
        wait_until(lambda: f'refused a control connection from localhost:{uid}:' in p.log_text(),
                   10, f'rvgd logs the refused connection of uid {uid}')
    finally:
        os.chmod(socket_path, 0o600)
        for path in (os.path.join(p.home, 'run'), p.home, env.root):
            os.chmod(path, 0o700)
    check_status_answers(p, f'ipc://{socket_path}', 'the refused connection')


def main(env):
    p, s = env.pair(VOLUMES, srl='16M')
    mode = os.stat(os.path.join(p.home, 'run', p.rvg + '.ctl')).st_mode & 0o777
    check(mode == 0o600, f'control socket mode is {mode:o}, expected 600')
    hostile_requests(p)
    if os.geteuid() == 0:
        other_uid_refused(env, p)
    else:
        log('not root: the other-uid case needs a second user; skipped')
    stop_during_drain(env, p, s)


if __name__ == '__main__':
    rvgtest.run(main)
