#!/usr/bin/python3
"""A clean stop and start of both hosts loses nothing and reuses no seq.

While stopped, `status` reads the seqs from state.db. After both start
again, new writes continue the seq numbering (last_seq grows past its
value before the stop) and replicate: drain, images identical.
"""

import rvgdata
import rvgtest
from rvgtest import check, log

VOLUMES = [('data', '16M'), ('logs', '16M')]
SEED = 99


def main(env):
    p, s = env.pair(VOLUMES, srl='64M')
    sizes = [size for _, _, size in p.volumes]
    model = rvgdata.Model(sizes, SEED)
    plan = rvgdata.scatter_plan(SEED, 80, sizes)
    first, second = plan[:40], plan[40:]
    p.write_plan(model, first)
    p.drain()
    before = p.status()
    seq = before['last_seq']
    check(seq >= len(first), f'last_seq {seq} < {len(first)} writes')
    generation = before['generation']

    p.stop()
    s.stop()
    stopped_p, stopped_s = p.status(), s.status()
    log(f'stopped: primary last_seq {stopped_p["last_seq"]}, secondary applied_seq '
        f'{stopped_s["applied_seq"]}')
    check(stopped_p['running'] is False and stopped_s['running'] is False,
          'status says running after rvgadm stop')
    check(stopped_p['last_seq'] == seq, f'stopped primary status last_seq '
          f'{stopped_p["last_seq"]}, it was {seq} before the stop')
    check(stopped_p['rlinks'][0]['data_acked_seq'] == seq,
          f'stopped primary RLINK data_acked_seq {stopped_p["rlinks"][0]["data_acked_seq"]} != {seq}')
    check(stopped_s['applied_seq'] == seq,
          f'stopped secondary applied_seq {stopped_s["applied_seq"]} != {seq}')
    rvgtest.assert_images_identical(p, s)

    s.start()
    p.start(mount=True)
    p.wait_connected()
    after_start = p.status()
    check(after_start['last_seq'] == seq, f'after restart last_seq is {after_start["last_seq"]}, '
          f'it was {seq} at the stop')
    check(after_start['generation'] == generation, 'a clean restart changed the generation '
          f'from {generation} to {after_start["generation"]}')
    p.write_plan(model, second)
    p.drain()
    after = p.status()
    check(after['last_seq'] >= seq + len(second),
          f'last_seq {after["last_seq"]} after {len(second)} more writes: seqs from {seq} reused?')
    check(s.status()['applied_seq'] == after['last_seq'], 'secondary applied_seq != last_seq')
    for i, (name, path, _) in enumerate(p.volumes):
        problem = rvgdata.compare_file_to_bytes(path, model.volumes[i])
        check(problem is None, f'primary image of {name}: {problem}')
    rvgtest.assert_images_identical(p, s)
    p.stop()
    s.stop()


if __name__ == '__main__':
    rvgtest.run(main)
