"""Helpers for the tests of RLINK modes and control: one RLINK's status,
waiting for it, and writes through the mount whose errors are expected."""

import errno
import os

from rvgsys import TestFailure
from rvgtest import check, log, wait_until

BLOCK = 4096


def rlink(host, name='s'):
    """The status --json entry of RLINK `name` on primary `host`."""
    for r in host.status().get('rlinks') or []:
        if r.get('name') == name:
            return r
    raise TestFailure(f'host {host.name}: no RLINK {name} in status')


def check_partial_resync(primary, name, total, what, since):
    """The resync of RLINK `name` sent some data, but less than a quarter
    of the `total` bytes of the volumes: only the regions written `since`."""
    sent = (rlink(primary, name).get('counters') or {}).get('resync_bytes_sent', 0)
    check(0 < sent < total // 4, f'{what} resynced {sent} bytes of {total}: expected the '
          f'regions written since the {since} only')
    log(f'{what} resynced {sent} bytes ({100 * sent / total:.1f} % of the volumes)')


def wait_rlink(host, what, predicate, timeout=60, name='s'):
    """Polls RLINK `name` of `host` until predicate(entry) holds."""
    last = {}

    def holds():
        last['r'] = rlink(host, name)
        return predicate(last['r'])
    wait_until(holds, timeout, f'RLINK {name} of {host.name}: {what}', interval=0.05,
               state=lambda: {k: last.get('r', {}).get(k) for k in
                              ('state', 'synchronous', 'synchronous_effective', 'protection',
                               'writes_behind', 'last_error')})


def block(i, tag=b''):
    """The 4 KiB content of block i: recognisable, different per i and tag."""
    head = b'block %d %s ' % (i, tag)
    return (head * (BLOCK // len(head) + 1))[:BLOCK]


class Volume:
    """A volume file of the mount, opened for writing (flags added)."""

    def __init__(self, path, flags=0):
        self.fd = os.open(path, os.O_RDWR | flags)

    def write(self, i, tag=b''):
        data = block(i, tag)
        n = os.pwrite(self.fd, data, i * BLOCK)
        check(n == BLOCK, f'pwrite of block {i} wrote {n} bytes')

    def fsync(self):
        os.fsync(self.fd)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def reconnect(p, s):
    """Starts secondary `s` again and waits until `p` replicates to it in a
    new session, synchronously if its RLINK is synchronous."""
    s.start()
    s.wait_session()
    p.wait_connected()
    if rlink(p)['synchronous'] != 'off':
        wait_rlink(p, 'synchronous again', lambda r: r.get('synchronous_effective') == 'sync')


def expect_eio(what, fn):
    """Runs fn; it must fail with EIO."""
    try:
        fn()
    except OSError as e:
        check(e.errno == errno.EIO, f'{what}: failed with {e}, expected EIO')
        return
    raise TestFailure(f'{what}: succeeded, expected EIO')


def image_block(path, i):
    with open(path, 'rb') as f:
        f.seek(i * BLOCK)
        return f.read(BLOCK)
