#!/usr/bin/python3
"""Writes patterned data to mounted rvg volumes, as a separate process, so
a test can crash, freeze or restart daemons while writes are in flight.

  writer.py blocks SEED --rate N --durable FILE VOLPATH...
      Write i = 4 KiB block i // V of volume i % V (V volumes): no block is
      written twice. Every 16 writes: fsync every volume, then append the
      number of writes now durable to FILE. Stops at the first error
      (exit 3) or when the smallest volume is full (exit 0).

  writer.py overwrite SEED --rate N --stop FILE --blocks B --block-size S
            --max M VOLPATH...
      Write i goes to overwrite_target(SEED, i, V, B): a few blocks written
      over and over, in a known order. fsync every 256 writes. Stops when
      FILE exists or after M writes (exit 0), or at an error (exit 3).

  writer.py scatter SEED --count N VOLPATH:SIZE...
      The writes of rvgdata.scatter_plan(SEED, N, sizes), then fsync.

The last line printed is `done N` (N = writes completed).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvgdata  # noqa: E402

BLOCK = 4096


class Pacer:
    """Keeps a writer at `rate` writes per second (0: as fast as it can),
    so a test has time to act while it runs and the SRL never overflows."""

    def __init__(self, rate):
        self.rate = rate
        self.start = time.monotonic()

    def wait(self, index):
        if self.rate:
            ahead = index / self.rate - (time.monotonic() - self.start)
            if ahead > 0:
                time.sleep(ahead)


def open_volumes(paths):
    return [os.open(p, os.O_WRONLY) for p in paths]


def fsync_all(fds):
    for fd in fds:
        os.fsync(fd)


def write_one(fds, seed, write):
    data = rvgdata.pattern(seed, write.index, write.length)
    n = os.pwrite(fds[write.volume], data, write.offset)
    if n != len(data):
        raise OSError(f'short write: {n} of {len(data)} bytes')


def run_blocks(args):
    fds = open_volumes(args.volumes)
    capacity = min(os.fstat(fd).st_size for fd in fds) // BLOCK * len(fds)
    pacer = Pacer(args.rate)
    done = 0
    with open(args.durable, 'a', buffering=1) as durable:
        try:
            for i in range(capacity):
                pacer.wait(i)
                write_one(fds, args.seed, rvgdata.block_write(i, len(fds), BLOCK))
                done = i + 1
                if done % 16 == 0:
                    fsync_all(fds)
                    durable.write(f'{done}\n')
            fsync_all(fds)
            durable.write(f'{done}\n')
        except OSError as e:
            print(f'stopped at write {done}: {e}', flush=True)
            print(f'done {done}', flush=True)
            return 3
    print(f'done {done}', flush=True)
    return 0


def run_overwrite(args):
    fds = open_volumes(args.volumes)
    pacer = Pacer(args.rate)
    done = 0
    try:
        for i in range(args.max):
            pacer.wait(i)
            vol, block = rvgdata.overwrite_target(args.seed, i, len(fds), args.blocks)
            write_one(fds, args.seed,
                      rvgdata.Write(i, vol, block * args.block_size, args.block_size))
            done = i + 1
            if done % 256 == 0:
                fsync_all(fds)
                if os.path.exists(args.stop):
                    break
        fsync_all(fds)
    except OSError as e:
        print(f'stopped at write {done}: {e}', flush=True)
        print(f'done {done}', flush=True)
        return 3
    print(f'done {done}', flush=True)
    return 0


def run_scatter(args):
    paths, sizes = [], []
    for spec in args.volumes:
        path, size = spec.rsplit(':', 1)
        paths.append(path)
        sizes.append(int(size))
    fds = open_volumes(paths)
    plan = rvgdata.scatter_plan(args.seed, args.count, sizes)
    for write in plan:
        write_one(fds, args.seed, write)
    fsync_all(fds)
    print(f'done {len(plan)}', flush=True)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='mode', required=True)
    b = sub.add_parser('blocks')
    b.add_argument('seed', type=int)
    b.add_argument('--rate', type=float, default=0)
    b.add_argument('--durable', required=True)
    b.add_argument('volumes', nargs='+')
    o = sub.add_parser('overwrite')
    o.add_argument('seed', type=int)
    o.add_argument('--rate', type=float, default=0)
    o.add_argument('--stop', required=True)
    o.add_argument('--blocks', type=int, required=True)
    o.add_argument('--block-size', type=int, default=BLOCK)
    o.add_argument('--max', type=int, required=True)
    o.add_argument('volumes', nargs='+')
    s = sub.add_parser('scatter')
    s.add_argument('seed', type=int)
    s.add_argument('--count', type=int, required=True)
    s.add_argument('volumes', nargs='+')
    args = parser.parse_args()
    return {'blocks': run_blocks, 'overwrite': run_overwrite, 'scatter': run_scatter}[args.mode](args)


if __name__ == '__main__':
    sys.exit(main())
