"""The RLINK wire protocol as a test peer speaks it (net/messages.h,
doc/wire-protocol.md): msgpack header frames, HELLO and WRITE encoders with
real volume ids (they start at 1), and a reply decoder."""

import os
import re

import msgpack

import rvgdata

HELLO, WELCOME, REJECT, WRITE, ACK, NACK, PING = 1, 2, 3, 4, 5, 6, 7


def _protocol_version():
    """kProtocolVersion as net/messages.h defines it, read from the source so
    a protocol bump cannot leave this peer speaking an old version (every
    message would then be refused as "peer speaks protocol version N")."""
    header = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'net', 'messages.h')
    with open(header) as f:
        found = re.search(r'kProtocolVersion\s*=\s*(\d+)\s*;', f.read())
    if not found:
        raise RuntimeError(f'{header}: kProtocolVersion not found')
    return int(found.group(1))


VERSION = _protocol_version()


def volumes_of(host):
    """HELLO's volume list for `host`: ids 1.. in creation order."""
    return [{'id': i + 1, 'name': n, 'size': size} for i, (n, _, size) in enumerate(host.volumes)]


def hello(rvg, uuid, generation, volumes, sid=0x5EED5EED, last=2**40, **overrides):
    """A HELLO that passes every check a secondary makes of its own accord
    (`last` high, so no "histories diverged"); its generation history is
    that of a primary that never failed over: `generation` from seq 1."""
    msg = {'t': HELLO, 'v': VERSION, 'rvg': rvg, 'uuid': uuid, 'gen': generation, 'rl': 's',
           'sid': sid, 'last': last, 'first': 1, 'vols': volumes, 'host': 'p',
           'hist': [[generation, 1, '', 0]]}
    msg.update(overrides)
    return msgpack.packb(msg)


def write(uuid, generation, sid, seq, volume, offset, data, **overrides):
    """[header, data] of a WRITE whose CRC matches `data`."""
    msg = {'t': WRITE, 'v': VERSION, 'uuid': uuid, 'gen': generation, 'sid': sid, 'seq': seq,
           'vol': volume, 'off': offset, 'len': len(data), 'crc': rvgdata.crc32c(data)}
    msg.update(overrides)
    return [msgpack.packb(msg), data]


def reject(sid, why, retry=True):
    """A REJECT, as a primary closing its session sends it."""
    return msgpack.packb({'t': REJECT, 'v': VERSION, 'sid': sid, 'why': why, 'retry': retry})


def decode(frame):
    """A reply header as a dict, or None if it is not one."""
    try:
        msg = msgpack.unpackb(frame, raw=False)
    except Exception:
        return None
    return msg if isinstance(msg, dict) else None
