"""Test data for rvg's integration tests: patterned writes, write plans,
an in-memory model of what a volume must hold, and image comparison.

Every byte a test writes is derived from (seed, write index), and every
512-byte sector of a write starts with a stamp naming that write, so a test
that finds a wrong sector can say which write left it there, and a test that
reads a block can tell which write was the last to reach it.

Standard library only.
"""

import hashlib
import os
import random
import struct

SECTOR = 512
KiB = 1024
MiB = 1024 * KiB

# Stamp at the start of every sector of a patterned write:
# magic, seed, write index, sector number within the write.
_STAMP = struct.Struct('<8sIQI')
_MAGIC = b'RVGTSTMP'

_SIZE_SUFFIXES = {'': 1, 'K': KiB, 'M': MiB, 'G': 1024 * MiB, 'T': 1024 * 1024 * MiB}


def parse_size(text):
    """'48M' -> 50331648, the way rvgadm reads sizes (K/M/G/T, powers of 2)."""
    text = str(text).strip().upper()
    suffix = text[-1] if text and text[-1] in 'KMGT' else ''
    return int(text[:len(text) - len(suffix)]) * _SIZE_SUFFIXES[suffix]


def pattern(seed, index, length):
    """The deterministic content of write `index` of a test seeded `seed`."""
    buf = bytearray(random.Random((seed << 40) ^ index).randbytes(length))
    for sector, off in enumerate(range(0, length, SECTOR)):
        stamp = _STAMP.pack(_MAGIC, seed, index, sector)
        n = min(len(stamp), length - off)
        buf[off:off + n] = stamp[:n]
    return bytes(buf)


def identify(sector_bytes):
    """(seed, write index, sector) stamped at the start of `sector_bytes`,
    or None when it holds no stamp (never written, or foreign data)."""
    if len(sector_bytes) < _STAMP.size:
        return None
    magic, seed, index, sector = _STAMP.unpack_from(sector_bytes)
    if magic != _MAGIC:
        return None
    return seed, index, sector


class Write:
    """One planned write: `length` bytes of pattern(seed, index) at
    `offset` of volume number `volume`."""

    __slots__ = ('index', 'volume', 'offset', 'length')

    def __init__(self, index, volume, offset, length):
        self.index, self.volume, self.offset, self.length = index, volume, offset, length

    def __repr__(self):
        return f'Write(#{self.index} vol {self.volume} @{self.offset} +{self.length})'


# Lengths of scattered writes: small and large, sector multiples and odd
# ones; 1 MiB is the largest write FUSE hands over in one request.
_SCATTER_LENGTHS = [512, 1024, 4096, 4096, 8192, 12288, 65536, 131072,
                    131072 + 4096, 262144, 1048576, 1000, 4096 + 123, 70000]


def numbered_plan(seed, count, volume_sizes, first_index):
    """scatter_plan with write indexes from `first_index` on: contents that
    no other plan of the same model repeats."""
    writes = scatter_plan(seed, count, volume_sizes)
    for w in writes:
        w.index += first_index
    return writes


def scatter_plan(seed, count, volume_sizes):
    """`count` writes spread over all volumes: random offsets (a quarter of
    them not sector aligned), lengths from 512 B to 1 MiB, overlaps allowed."""
    rnd = random.Random(seed)
    plan = []
    for index in range(count):
        volume = index % len(volume_sizes)
        size = volume_sizes[volume]
        length = min(rnd.choice(_SCATTER_LENGTHS), size)
        if rnd.random() < 0.25:
            offset = rnd.randrange(0, size - length + 1)
        else:
            offset = rnd.randrange(0, (size - length) // 4096 + 1) * 4096
        plan.append(Write(index, volume, offset, length))
    # The very first and very last bytes of every volume get written too.
    for volume, size in enumerate(volume_sizes):
        plan.append(Write(len(plan), volume, 0, 4096))
        plan.append(Write(len(plan), volume, size - 3000, 3000))
    return plan


def overwrite_target(seed, index, volume_count, block_count):
    """(volume, block) that write `index` of an overwrite schedule hits:
    a few blocks per volume, each overwritten many times."""
    digest = hashlib.blake2b(struct.pack('<IQ', seed, index), digest_size=8).digest()
    value = int.from_bytes(digest, 'little')
    return value % volume_count, (value // volume_count) % block_count


def block_write(index, volume_count, block_size):
    """Write `index` of the crash tests: block `index // volume_count` of
    volume `index % volume_count`, so no block is written twice."""
    return Write(index, index % volume_count, (index // volume_count) * block_size, block_size)


class Model:
    """What each volume must hold after a sequence of patterned writes
    (volumes start as zeros, as rvgadm create makes them)."""

    def __init__(self, volume_sizes, seed):
        self.seed = seed
        self.volumes = [bytearray(size) for size in volume_sizes]

    def apply(self, write):
        data = pattern(self.seed, write.index, write.length)
        self.volumes[write.volume][write.offset:write.offset + write.length] = data
        return data


def sha256_file(path, limit=None):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        remaining = limit
        while remaining is None or remaining > 0:
            chunk = f.read(MiB if remaining is None else min(MiB, remaining))
            if not chunk:
                break
            h.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return h.hexdigest()


def _first_diff_in(a, b):
    if a == b:
        return None
    n = min(len(a), len(b))
    lo, hi = 0, n  # binary search for the first differing byte
    while hi - lo > 64:
        mid = (lo + hi) // 2
        if a[lo:mid] != b[lo:mid]:
            hi = mid
        else:
            lo = mid
    for i in range(lo, n):
        if a[i] != b[i]:
            return i
    return n


def first_difference(read_a, read_b, size):
    """Offset of the first byte where two sources differ, or None.
    read_x(offset, length) -> bytes."""
    offset = 0
    while offset < size:
        n = min(4 * MiB, size - offset)
        a, b = read_a(offset, n), read_b(offset, n)
        d = _first_diff_in(a, b)
        if d is not None:
            return offset + d
        offset += n
    return None


def file_reader(path):
    fd = os.open(path, os.O_RDONLY)

    def read(offset, length):
        return os.pread(fd, length, offset)
    read.close = lambda: os.close(fd)
    return read


def describe_at(read, offset):
    """A few bytes around `offset` and the stamp of the write that covers it,
    for failure messages."""
    start = max(0, offset - offset % SECTOR)
    sector = read(start, SECTOR)
    stamp = identify(sector)
    who = f'write #{stamp[1]} (seed {stamp[0]}, its sector {stamp[2]})' if stamp else 'no stamp'
    rel = offset - start
    return f'bytes {sector[rel:rel + 16].hex()} ; sector at {start}: {who}'


def compare_files(path_a, path_b):
    """None if both files have the same size and bytes, else a one-paragraph
    description of the first difference."""
    size_a, size_b = os.path.getsize(path_a), os.path.getsize(path_b)
    if size_a != size_b:
        return f'{path_a} is {size_a} bytes but {path_b} is {size_b} bytes'
    ra, rb = file_reader(path_a), file_reader(path_b)
    try:
        d = first_difference(ra, rb, size_a)
        if d is None:
            return None
        return (f'{path_a} and {path_b} first differ at offset {d}:\n'
                f'  {path_a}: {describe_at(ra, d)}\n  {path_b}: {describe_at(rb, d)}')
    finally:
        ra.close()
        rb.close()


def compare_file_to_bytes(path, expected):
    """None if the file holds exactly `expected`, else where it differs."""
    size = os.path.getsize(path)
    if size != len(expected):
        return f'{path} is {size} bytes, expected {len(expected)}'
    rf = file_reader(path)
    view = memoryview(expected)
    try:
        d = first_difference(rf, lambda off, n: bytes(view[off:off + n]), size)
        if d is None:
            return None
        want = lambda off, n: bytes(view[off:off + n])  # noqa: E731
        return (f'{path} differs from the expected content at offset {d}:\n'
                f'  found:    {describe_at(rf, d)}\n  expected: {describe_at(want, d)}')
    finally:
        rf.close()


def _crc32c_table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli), the data checksum of WRITE messages."""
    crc = 0xFFFFFFFF
    table = _CRC32C
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF
