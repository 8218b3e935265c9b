#!/usr/bin/python3
"""A damaged SRL record is reported, not looped on and not taken for the end
of the log.

The secondary is down while the primary writes, so after a restart of the
primary the writes exist only in its SRL. A byte of the first record's data
is then flipped on disk under the running rvgd.

1. The secondary comes back: the primary reads the record back for it, the
   checksum fails, and the RLINK turns `failed` with the reason in status;
   the sender does not reconnect in a loop.
2. The primary is restarted: the damaged record lies below the seqs the
   SRL checkpoint recorded as durable, so `rvgadm start` refuses, naming the
   record's seq and file offset, instead of treating it as the end of the
   log and reusing seqs.
"""

import os
import time

import rvgtest
from rvgtest import check, log, wait_until

VOLUMES = [('a', '16M')]
FIRST_RECORD_OFFSET = 8192  # data area start: the first record of a new SRL
HEADER_BYTES = 64


def flip_byte(path, offset):
    fd = os.open(path, os.O_RDWR)
    try:
        b = os.pread(fd, 1, offset)
        os.pwrite(fd, bytes([b[0] ^ 0x5A]), offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def main(env):
    p, s = env.pair(VOLUMES, srl='16M')
    s.stop()
    fd = os.open(p.mounted('a'), os.O_WRONLY)
    try:
        for i in range(32):
            os.pwrite(fd, bytes([i + 1]) * 65536, i * 65536)
        os.fsync(fd)
    finally:
        os.close(fd)
    # A restart leaves the records only in the SRL, so the sender must read
    # them back from the file.
    p.stop()
    p.start(mount=True)
    flip_byte(p.srl_path, FIRST_RECORD_OFFSET + HEADER_BYTES + 100)
    log('flipped a data byte of seq 1 in the primary\'s SRL')

    s.start()
    last = {}

    def failed():
        last['r'] = p.status()['rlinks'][0]
        return last['r'].get('state') == 'failed'
    wait_until(failed, 60, 'the RLINK is failed after a damaged read-back',
               state=lambda: last.get('r'))
    reason = last['r'].get('last_error', '')
    check('seq 1' in reason and 'checksum' in reason,
          f'RLINK error does not name the damaged record: {reason!r}')
    log(f'RLINK failed: {reason}')
    # Not a reconnect loop: over two seconds the state stays failed and the
    # log gains no new read-back attempt.
    attempts = p.log_text().count('cannot read seq')
    time.sleep(2)  # observation window, not a wait for a condition
    check(p.status()['rlinks'][0].get('state') == 'failed', 'the RLINK left the failed state')
    check(p.log_text().count('cannot read seq') == attempts,
          'the sender keeps retrying the damaged record')

    p.stop()
    cp = p.rvgadm('start', p.rvg, '--mount', p.mountpoint, check=False)
    check(cp.returncode == 1, f'start with a damaged SRL record exited {cp.returncode}')
    msg = cp.stderr
    check(f'record seq 1 at file offset {FIRST_RECORD_OFFSET}' in msg and 'damaged' in msg,
          f'start does not name the damaged record: {msg!r}')
    check(rvgtest.mount_entry(p.mountpoint) is None, 'mounted although start failed')
    log(f'start refused: {msg.strip()}')
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
