#!/usr/bin/python3
"""Initial full sync of ext4 while files are being written (root only:
loop devices, mkfs, mount).

ext4 on a loop device on the primary's mounted volume, a few thousand
files copied in, with no secondary. Then a secondary is added (stale: the
primary has history), and `startrep --full --wait` copies the volume while
a thread keeps writing more files into the mounted filesystem. The writer
stops, the filesystem is unmounted and the loop device detached, the
volume fsynced and drained: the secondary's image is byte-identical to the
primary's, passes `fsck.ext4 -fn`, and holds every file (those from before
and those written during the sync) with the same sha256.

Everything (mounts, loop devices, processes) is undone by the harness's
cleanup, also on failure.
"""

import hashlib
import os
import threading
import time

import rlinkctl
import rvgtest
import test_ext4_on_loop as ext4
from rvgsys import free_port
from rvgtest import check, log

VOLUMES = [('disk', '256M')]
MIB = 1 << 20


class FileWriter:
    """A thread that writes files of 64 KiB..1 MiB into `directory` until
    stopped, each fsynced, at about RATE bytes/s and at most LIMIT bytes in
    all (the filesystem must not fill up); remembers the sha256 of every
    file it finished."""

    RATE = 8 * MIB
    LIMIT = 96 * MIB

    def __init__(self, directory):
        self.directory = directory
        self.sums = {}
        self.error = None
        self.stop = threading.Event()
        os.makedirs(directory, exist_ok=True)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        i, written, start = 0, 0, time.monotonic()
        try:
            while not self.stop.is_set() and written < self.LIMIT:
                ahead = written / self.RATE - (time.monotonic() - start)
                if ahead > 0:
                    self.stop.wait(ahead)  # pacing, not waiting for an outcome
                    continue
                data = os.urandom(64 * 1024 * (1 + i % 16))
                written += len(data)
                name = f'during-{i:05d}'
                with open(os.path.join(self.directory, name), 'wb') as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                self.sums[name] = hashlib.sha256(data).hexdigest()
                i += 1
        except Exception as e:  # reported by finish()
            self.error = e

    def finish(self):
        self.stop.set()
        self.thread.join(60)
        check(not self.thread.is_alive(), 'the file writer did not stop')
        check(self.error is None, f'the file writer failed: {self.error}')
        return self.sums


def main(env):
    rvgtest.require_root('losetup, mkfs and mount need root')
    files, total = ext4.pick_files()
    check(len(files) >= 500, f'found only {len(files)} files to copy')
    p, s = env.host('p'), env.host('s')
    s.create_secondary(VOLUMES, listen=f'tcp://127.0.0.1:{free_port()}')
    p.create_primary(VOLUMES, srl='64M')
    p.start(mount=True)
    dev = env.attach_loop(p.mounted('disk'))
    rvgtest.run_cmd(['mkfs.ext4', '-q', dev], timeout=300)
    fs = os.path.join(env.root, 'fs')
    env.mount_fs(dev, fs)
    log(f'copying {len(files)} files ({total} bytes) into ext4, no secondary yet')
    sums = ext4.copy_in(files, fs)
    ext4.release_fs(env, p, fs, dev)
    p.stop()

    p.addsec(s)
    check(rlinkctl.rlink(p)['state'] == 'stale', 'a new RLINK on a primary with data is '
          f'{rlinkctl.rlink(p)["state"]}, not stale')
    s.start()
    p.start(mount=True)
    dev = env.attach_loop(p.mounted('disk'))
    env.mount_fs(dev, fs)
    # A limit long enough for the writer to write files during the copy.
    p.rvgadm('set', p.rvg, s.name, 'bandwidth_limit=32M')
    writer = FileWriter(os.path.join(fs, 'during'))
    cp = p.rvgadm('startrep', p.rvg, s.name, '--full', '--wait', timeout=900)
    check('full sync complete' in cp.stdout, f'startrep --full --wait: {cp.stdout}')
    during = writer.finish()
    check(during, 'no file was written during the full sync')
    log(f'{len(during)} files written during the full sync')
    ext4.release_fs(env, p, fs, dev)
    p.rvgadm('set', p.rvg, s.name, 'bandwidth_limit=none')
    p.drain(timeout=300)
    rvgtest.assert_images_identical(p, s)
    check(s.status()['consistent'], 'the secondary is inconsistent after the full sync')

    s.stop()
    expected = dict(sums)
    expected.update({os.path.join('during', name): digest for name, digest in during.items()})
    ext4.check_secondary_files(env, s, expected, 'a full sync with files written during it')
    p.stop()


if __name__ == '__main__':
    rvgtest.run(main)
