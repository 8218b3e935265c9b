#!/usr/bin/python3
"""Prometheus metrics, scraped for real: a primary started with
`rvgadm start --metrics 127.0.0.1:PORT` serves /metrics over HTTP
(urllib as the client), and the values move as writes happen:
rvg_last_seq grows by the writes made, the RLINK is connected, and with
its replication paused rvg_rlink_behind_writes counts exactly the writes
it lacks; after resumerep and a drain it is 0 again. The ack latency
histograms count every write: after 20 writes replicate, the _count of
rvg_rlink_net_ack_seconds and rvg_rlink_data_ack_seconds grew by at least
20, the buckets are cumulative (never fall as le grows), +Inf equals
_count and _sum grew; the error counters are exported per kind, and a
secondary exports its rejected messages by reason. `rvgadm metrics`
prints the same families, also while rvgd is stopped (rvg_up 0). A wrong
path is 404, a POST 405, and a bad --metrics address fails the start with
its reason. An unbound secondary (nulls in its status) renders too.
"""

import json
import os
import re
import urllib.error
import urllib.request

import rvgtest
from rvgtest import check, log

VOLUMES = [('a', '8M')]
BLOCK = 4096


def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        check(response.status == 200, f'GET {url}: HTTP {response.status}')
        check(response.headers['Content-Type'].startswith('text/plain; version=0.0.4'),
              f'content type {response.headers["Content-Type"]}')
        return response.read().decode()


def fresh_scrape(url, taken_after):
    """Scrapes until the text shows a status taken after what the test
    just did (`taken_after(text)`), within 10 s; returns that text."""
    last = {}

    def fresh():
        last['text'] = scrape(url)
        return taken_after(last['text'])
    rvgtest.wait_until(fresh, 10, 'a scrape of a status taken after the last step',
                       interval=0.1)
    return last['text']


def sample(text, name, **labels):
    """The value of series `name` with at least `labels`, else None."""
    for line in text.splitlines():
        m = re.match(r'^(\w+)(\{(.*)\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ''))
        if all(have.get(k) == v for k, v in labels.items()):
            return float(m.group(4))
    return None


def histogram(text, name, **labels):
    """(buckets [(le, value)] in the order exported, sum, count) of the
    histogram `name` with at least `labels`."""
    buckets = []
    for line in text.splitlines():
        m = re.match(r'^(\w+)\{(.*)\} (\S+)$', line)
        if not m or m.group(1) != name + '_bucket':
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
        if all(have.get(k) == v for k, v in labels.items()):
            buckets.append((float(have['le']), float(m.group(3))))
    return buckets, sample(text, name + '_sum', **labels), sample(text, name + '_count', **labels)


def check_histogram(before, after, name, rlink, writes):
    """The histogram counted at least `writes` samples between the two
    scrapes and is well formed in `after`."""
    b_buckets, b_sum, b_count = histogram(before, name, rlink=rlink)
    buckets, total, count = histogram(after, name, rlink=rlink)
    check(f'# TYPE {name} histogram' in after, f'{name} is not typed histogram')
    check(len(buckets) == 17 and buckets[-1][0] == float('inf'),
          f'{name}: expected 16 bounds and +Inf, got {buckets}')
    check(all(buckets[i][0] < buckets[i + 1][0] for i in range(len(buckets) - 1)),
          f'{name}: le not ascending: {buckets}')
    check(all(buckets[i][1] <= buckets[i + 1][1] for i in range(len(buckets) - 1)),
          f'{name}: buckets not cumulative: {buckets}')
    check(buckets[-1][1] == count, f'{name}: +Inf {buckets[-1][1]} != _count {count}')
    check(b_count is not None and count - b_count >= writes,
          f'{name}: _count went from {b_count} to {count} over {writes} replicated writes')
    check(total > b_sum, f'{name}: _sum did not grow ({b_sum} -> {total})')
    log(f'{name}: {count - b_count:.0f} samples for {writes} writes, '
        f'mean {(total - b_sum) / (count - b_count) * 1e3:.2f} ms')


def write_blocks(p, first, count):
    fd = os.open(p.mounted('a'), os.O_WRONLY)
    try:
        for i in range(first, first + count):
            os.pwrite(fd, bytes([i % 251 + 1]) * BLOCK, i * BLOCK)
        os.fsync(fd)
    finally:
        os.close(fd)


def http_error(url, method='GET'):
    try:
        urllib.request.urlopen(urllib.request.Request(url, method=method, data=b'x' if method ==
                                                      'POST' else None), timeout=10)
    except urllib.error.HTTPError as e:
        return e.code
    return 200


def check_monitoring_files(scraped):
    """Every rvg_ name the shipped dashboard and alert rules query is one
    the endpoint exports (in `scraped`, a primary's and a secondary's
    text); a histogram's samples are its _bucket, _sum and _count."""
    monitoring = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), 'packaging', 'monitoring')
    exported = set(re.findall(r'^# TYPE (rvg_\w+) ', scraped, re.MULTILINE))
    for name in re.findall(r'^# TYPE (rvg_\w+) histogram$', scraped, re.MULTILINE):
        exported |= {name + '_bucket', name + '_sum', name + '_count'}
    for name in ('rvg-dashboard.json', 'rvg-alerts.yml'):
        with open(os.path.join(monitoring, name)) as f:
            text = f.read()
        if name.endswith('.json'):
            json.loads(text)
        unknown = sorted(set(re.findall(r'\b(rvg_[a-z_]+)\b', text)) - exported)
        check(not unknown, f'{name} queries {unknown}, which the endpoint does not export')


def main(env):
    p, s = env.pair(VOLUMES, start=False)
    s.start()
    cp = p.rvgadm('start', p.rvg, '--mount', p.mountpoint, '--metrics', 'nowhere:1',
                  check=False)
    check(cp.returncode != 0 and '--metrics nowhere:1' in cp.stderr,
          f'a bad --metrics address: exit {cp.returncode}, {cp.stderr.strip()!r}')
    port = rvgtest.free_port()
    url = f'http://127.0.0.1:{port}/metrics'
    p.start(mount=True, extra=('--metrics', f'127.0.0.1:{port}'))
    p.wait_connected()

    before = scrape(url)
    check(sample(before, 'rvg_up', rvg=p.rvg) == 1, 'rvg_up is not 1 while rvgd runs')
    check(sample(before, 'rvg_rlink_state', rlink=s.name, state='connected') == 1,
          'the RLINK is not reported connected')
    seq0 = sample(before, 'rvg_last_seq', rvg=p.rvg)
    write_blocks(p, 0, 20)
    # The endpoint renders a status at most a second old: wait for one
    # taken after the writes (the seq only grows, so no later one differs).
    after = fresh_scrape(url, lambda t: sample(t, 'rvg_last_seq', rvg=p.rvg) != seq0)
    check(sample(after, 'rvg_last_seq', rvg=p.rvg) == seq0 + 20,
          f'rvg_last_seq went from {seq0} to {sample(after, "rvg_last_seq")} after 20 writes')

    p.drain()  # asynchronous: the 20 writes may not all be acked yet
    acked = fresh_scrape(url, lambda t: sample(t, 'rvg_rlink_data_acked_seq',
                                               rlink=s.name) == seq0 + 20)
    for name in ('rvg_rlink_net_ack_seconds', 'rvg_rlink_data_ack_seconds'):
        check_histogram(before, acked, name, s.name, 20)
    for kind in ('handshake', 'timeout', 'refused', 'send_blocked', 'srl_read'):
        check(sample(acked, 'rvg_rlink_errors_total', rlink=s.name, kind=kind) is not None,
              f'rvg_rlink_errors_total{{kind="{kind}"}} is not exported')
    check(sample(acked, 'rvg_rlink_rejected_messages_total', rlink=s.name,
                 reason='malformed') == 0, 'the primary rejected a malformed message of its pair')
    secondary = s.rvgadm('metrics', s.rvg).stdout
    check(sample(secondary, 'rvg_rejected_messages_total', rvg=s.rvg, reason='malformed') == 0 and
          sample(secondary, 'rvg_rejected_connections_total', rvg=s.rvg) is not None,
          f'the secondary does not export its rejections:\n{secondary}')
    p.rvgadm('pauserep', p.rvg, s.name)
    write_blocks(p, 100, 7)
    paused = fresh_scrape(url, lambda t: sample(t, 'rvg_last_seq', rvg=p.rvg) == seq0 + 27)
    check(sample(paused, 'rvg_rlink_behind_writes', rlink=s.name) == 7,
          f'behind_writes {sample(paused, "rvg_rlink_behind_writes")} with 7 writes held back')
    check(sample(paused, 'rvg_rlink_state', rlink=s.name, state='paused') == 1,
          'the paused RLINK is not reported paused')
    check(sample(paused, 'rvg_rlink_behind_bytes', rlink=s.name) == 7 * BLOCK,
          'behind_bytes does not count the held-back bytes')
    p.rvgadm('resumerep', p.rvg, s.name)
    p.drain()
    done = fresh_scrape(url, lambda t: sample(t, 'rvg_rlink_state', rlink=s.name,
                                              state='connected') == 1)
    check(sample(done, 'rvg_rlink_behind_writes', rlink=s.name) == 0,
          'behind_writes is not 0 after the drain')
    log('scraped over HTTP: last_seq, the RLINK state and its lag move with the writes')

    # A resync, slowed down to be caught: its progress is exported. Data
    # in every region first (all-zero regions are not sent, and go fast).
    write_blocks(p, 0, (8 << 20) // BLOCK)
    p.drain()
    p.rvgadm('set', p.rvg, s.name, 'bandwidth_limit=1M')
    p.rvgadm('resync', p.rvg, s.name, '--full')
    during = {}

    def resync_exported():
        during['text'] = scrape(url)
        return sample(during['text'], 'rvg_rlink_resync_total_bytes', rlink=s.name)
    rvgtest.wait_until(resync_exported, 30, 'the resync progress is exported', interval=0.1)
    check(sample(during['text'], 'rvg_rlink_resync_total_bytes', rlink=s.name) == 8 << 20,
          'resync total is not the volume size')
    check(sample(during['text'], 'rvg_rlink_state', rlink=s.name, state='resyncing') == 1,
          'the RLINK is not reported resyncing')
    p.rvgadm('set', p.rvg, s.name, 'bandwidth_limit=none')
    p.drain()
    check_monitoring_files(during['text'] + scrape(url) + secondary)
    log('resync progress exported; the dashboard and alert rules use only exported names')

    check(http_error(url.replace('/metrics', '/other')) == 404, 'a wrong path is not 404')
    check(http_error(url, 'POST') == 405, 'a POST is not 405')

    text = p.rvgadm('metrics', p.rvg).stdout
    check(sample(text, 'rvg_rlink_behind_writes', rlink=s.name) == 0 and
          '# TYPE rvg_rlink_state gauge' in text, 'rvgadm metrics differs from the endpoint')
    p.stop()
    stopped = p.rvgadm('metrics', p.rvg).stdout
    check(sample(stopped, 'rvg_up', rvg=p.rvg) == 0, 'rvgadm metrics of a stopped RVG: rvg_up')
    log('rvgadm metrics prints the same families, rvg_up 0 once stopped')
    s.stop()
    # A secondary never bound to a primary: its status holds nulls (no
    # generation yet), which once aborted the renderer.
    u = env.host('u')
    u.create_secondary(VOLUMES, f'tcp://127.0.0.1:{rvgtest.free_port()}')
    text = u.rvgadm('metrics', u.rvg).stdout
    check(sample(text, 'rvg_info', rvg=u.rvg, role='secondary', generation='') == 1,
          f'rvgadm metrics of an unbound secondary:\n{text}')


if __name__ == '__main__':
    rvgtest.run(main)
