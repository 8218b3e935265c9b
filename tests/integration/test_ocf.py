#!/usr/bin/python3
"""ocf:rvg:rvg (packaging/ocf/rvg), the Pacemaker resource agent, run the
way Pacemaker runs it (OCF_ROOT and OCF_RESKEY_* in the environment)
against real rvgd pairs. Pacemaker's crm_attribute is a stand-in that
records the promotion scores the agent sets.

1. ocf-tester (resource-agents) passes against the secondary of a pair
   whose primary wrote, drained and stopped: its promote is a takeover,
   its demote (no connected peer) stops rvgd and holds the primary, and
   the data the primary wrote is the taken-over copy's.
2. One pair, one mountpoint path for both hosts (as on two nodes): an
   RVG the home does not have is 7 to a probe, 5 otherwise; monitor of
   a stopped resource is 7 and stop is idempotent; started,
   the secondary monitors 0 and the primary is held (0, rvgd not
   started); promoted, it monitors 8 and the secondary with a live
   session has the score of an up-to-date copy. A planned switch: demote
   on the primary (rvgadm migrate), promote on the secondary: roles
   swapped, the data on the new primary, and its writes replicate back.
   The new primary's rvgd is SIGKILLed: its monitor says failed (9),
   promote of the other host takes over, with the data. The killed host,
   started again, is held as the primary it was; the notification that
   the other host is promoted starts it, and it has stepped down to follow
   when the notify returns (it lost the primary's score), its volumes
   meanwhile mounted in the agent's private directory. The primary's
   rvgd stalled (SIGSTOP: alive, not answering): monitor and a probe say
   failed (9), neither 5 nor 7, and stop leaves no rvgd alive.
3. The status parser, against a stand-in rvgadm: an empty "flags": {}
   ends there (a later object's keys are no flags), and a quote in the
   peer parameter does not reach the shell.
4. A secondary in the middle of a resync whose primary dies has no
   promotion score, and its promote fails (not forced): it stays a
   running secondary. With force_takeover=true it is promoted, its undo
   area restored.
"""

import os
import shutil
import subprocess
import types

import rvgdata
import rvgtest
from rvgsys import RVGADM, RVGD
from rvgtest import check, log, wait_until
from test_failback import SIZES, check_images, pair, plan
from test_takeover import check_volumes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENT = os.path.join(ROOT, 'packaging', 'ocf', 'rvg')
OCF_ROOT = '/usr/lib/ocf'
OCF_SUCCESS, OCF_ERR_INSTALLED, OCF_NOT_RUNNING = 0, 5, 7
OCF_RUNNING_MASTER, OCF_FAILED_MASTER = 8, 9

# Pacemaker's crm_attribute, standing in: records each call's arguments.
FAKE_CRM_ATTRIBUTE = '#!/bin/sh\necho "$*" >> "$RVG_TEST_SCORES"\n'


class Agent:
    """The agent for one host's RVG, as Pacemaker would run it there."""

    def __init__(self, env, host, mount):
        self.host = host
        self.scores = os.path.join(env.root, f'{host.name}.scores')
        sbin = os.path.join(env.root, 'sbin')
        if not os.path.exists(sbin):
            os.makedirs(sbin)
            fake = os.path.join(sbin, 'crm_attribute')
            with open(fake, 'w') as f:
                f.write(FAKE_CRM_ATTRIBUTE)
            os.chmod(fake, 0o755)
        self.params = {'rvg': host.rvg, 'home': host.home, 'rvgadm': RVGADM, 'rvgd': RVGD,
                       'mount': mount}
        self.env = dict(os.environ, OCF_ROOT=OCF_ROOT, OCF_RESOURCE_INSTANCE=f'rvg-{host.name}',
                        HA_RSCTMP=os.path.join(env.root, 'rsctmp'), HA_SBIN_DIR=sbin,
                        OCF_RESKEY_crm_feature_set='3.16.2', RVG_TEST_SCORES=self.scores,
                        OCF_RESKEY_CRM_meta_timeout='60000', OCF_RESKEY_CRM_meta_on_node=host.name)

    def run(self, action, expect=None, **extra):
        """Runs one action; checks its exit code against `expect` when
        given. Returns (exit code, output)."""
        env = dict(self.env, **{f'OCF_RESKEY_{k}': v for k, v in self.params.items()},
                   **{f'OCF_RESKEY_{k}': v for k, v in extra.items()})
        cp = subprocess.run([AGENT, action], capture_output=True, text=True, env=env,
                            timeout=120)
        out = (cp.stdout + cp.stderr).strip()
        log(f'{self.host.name}: ocf {action} -> {cp.returncode}' + (f': {out}' if out else ''))
        if expect is not None:
            check(cp.returncode == expect, f'host {self.host.name}: {action} exited '
                  f'{cp.returncode}, expected {expect}\n{out}')
        return cp.returncode, out

    def score(self):
        """The promotion score last set: a number, or None once deleted
        (or never set)."""
        try:
            with open(self.scores) as f:
                last = f.read().split('\n')[-2].split()
        except (OSError, IndexError):
            return None
        return int(last[last.index('-v') + 1]) if '-v' in last else None


def ocf_tester(env):
    p, s = pair(env, ('tp', 'ts'))
    model = rvgdata.Model(SIZES, 51)
    p.write_plan(model, plan(51, 20, 0))
    p.drain()
    p.stop()
    agent = Agent(env, s, s.mountpoint)
    argv = ['ocf-tester', '-n', 'rvg-ts']
    for k, v in agent.params.items():
        argv += ['-o', f'{k}={v}']
    check(shutil.which('ocf-tester'), 'ocf-tester is missing (package resource-agents): '
          'packaging/install-deps.sh installs it')
    cp = subprocess.run(argv + [AGENT], capture_output=True, text=True, env=agent.env,
                        timeout=300)
    out = (cp.stdout + cp.stderr).strip()
    log(f'ocf-tester exited {cp.returncode}:\n{out}')
    check(cp.returncode == 0 and 'passed all tests' in out, 'ocf-tester failed')
    st = s.status()
    check(st['role'] == 'primary' and not st['running'] and st['flags'].get('source') == 'tp',
          f'after ocf-tester {s.name} is to be the stopped primary that took over from tp: '
          f'role {st["role"]}, running {st["running"]}, flags {st["flags"]}')
    check(rvgtest.mount_entry(s.mountpoint) is None, f'{s.mountpoint} left mounted')
    check_images(s, model, 'what tp wrote before it stopped')


def not_here(p):
    """An RVG this node does not have: a probe says stopped; anything else
    is this node's problem (5, OCF_ERR_INSTALLED), not a configuration
    error that would stop the resource on every node."""
    agent = Agent(p.env, p, p.mountpoint)
    agent.params['rvg'] = 'elsewhere'
    agent.run('monitor', OCF_NOT_RUNNING, CRM_meta_interval='0')
    for action in ('monitor', 'start', 'promote'):
        agent.run(action, OCF_ERR_INSTALLED, CRM_meta_interval='20000')
    agent.run('stop', OCF_SUCCESS)


def start_and_promote(env):
    """The pair p, s not started, their agents (one mountpoint path)."""
    p, s = pair(env, ('p', 's'), start=False)
    mount = os.path.join(env.root, 'mnt')
    os.makedirs(mount)
    p.mountpoint = s.mountpoint = mount
    ap, as_ = Agent(env, p, mount), Agent(env, s, mount)
    not_here(p)
    for agent in (ap, as_):
        agent.run('monitor', OCF_NOT_RUNNING)
        agent.run('stop', OCF_SUCCESS)
    as_.run('start', OCF_SUCCESS)
    as_.run('monitor', OCF_SUCCESS)
    check(s.alive(), 'start of the secondary left no rvgd running')
    ap.run('start', OCF_SUCCESS)
    ap.run('monitor', OCF_SUCCESS)
    check(not p.alive() and rvgtest.mount_entry(mount) is None,
          'start of the primary is to hold it (no rvgd, no mount) until promoted')
    ap.run('promote', OCF_SUCCESS)
    ap.run('monitor', OCF_RUNNING_MASTER)
    p.pids_seen.add(p.pid())
    check(rvgtest.mount_entry(mount) is not None, f'promoted, nothing is mounted at {mount}')
    p.wait_connected()
    s.wait_session()
    as_.run('monitor', OCF_SUCCESS)
    check(ap.score() == 100 and as_.score() == 50,
          f'promotion scores: primary {ap.score()}, secondary with a session {as_.score()}')
    return p, s, ap, as_


def planned_switch(p, s, ap, as_, model):
    ap.run('demote', OCF_SUCCESS)
    ap.run('monitor', OCF_SUCCESS)
    as_.run('promote', OCF_SUCCESS)
    as_.run('monitor', OCF_RUNNING_MASTER)
    s.pids_seen.add(s.pid())
    st_p, st_s = p.status(), s.status()
    check(st_p['role'] == 'secondary' and st_p['running'] and st_s['role'] == 'primary',
          f'after demote p, promote s: p {st_p["role"]}, s {st_s["role"]}')
    check_volumes(s, model, 'what p wrote, after the planned switch')
    s.write_plan(model, plan(62, 10, 1000))
    s.drain()
    check_images(p, model, 'the writes of s, replicated back after the switch')


def failover(p, s, ap, as_, model):
    s.kill9()
    rvgtest.lazy_unmount(s.mountpoint)
    as_.run('monitor', OCF_FAILED_MASTER)
    ap.run('promote', OCF_SUCCESS)
    ap.run('monitor', OCF_RUNNING_MASTER)
    st = p.status()
    check(st['role'] == 'primary' and st['flags'].get('source') == 's',
          f'after promote of p: role {st["role"]}, flags {st["flags"]}')
    check_volumes(p, model, 'what s wrote before it was killed')
    p.write_plan(model, plan(63, 6, 2000))


def failback(p, s, ap, as_, model):
    """s comes back: held as the primary it was, until the notification
    that p is promoted starts it; it then follows p."""
    for _ in range(2):
        as_.run('stop', OCF_SUCCESS)
    as_.run('monitor', OCF_NOT_RUNNING)
    s.mountpoint = as_.params['mount'] = os.path.join(s.dir, 'mnt')
    os.makedirs(s.mountpoint, exist_ok=True)
    as_.run('start', OCF_SUCCESS)
    check(not s.alive(), 's started again is to be held (rvgd not running)')
    as_.run('notify', OCF_SUCCESS, CRM_meta_notify_type='post',
            CRM_meta_notify_operation='promote', CRM_meta_notify_promote_uname='p',
            CRM_meta_notify_master_uname='p')
    s.pids_seen.add(s.pid())
    st = s.status()
    check(st['role'] == 'secondary' and st['running'] and as_.score() != 100,
          f'after notify s is to follow p: role {st["role"]}, score {as_.score()}')
    with open(s.log_path) as f:
        mounts = [line for line in f.read().split('\n')[-200:] if 'volumes mounted at' in line]
    check(mounts and '.follow' in mounts[-1] and s.mountpoint not in mounts[-1],
          f'the stale primary is to mount in the agent\'s private directory: {mounts[-1:]}')
    p.wait_connected()
    as_.run('monitor', OCF_SUCCESS)
    p.drain()
    rvgtest.assert_images_identical(p, s)
    stalled(p, ap)
    for agent, host in ((as_, s), (ap, p)):
        agent.run('stop', OCF_SUCCESS)
        agent.run('stop', OCF_SUCCESS)
        agent.run('monitor', OCF_NOT_RUNNING)
        check(not host.alive(), f'{host.name}: rvgd still runs after stop')
    check(rvgtest.mount_entry(p.mountpoint) is None, f'{p.mountpoint} still mounted after stop')


def stalled(p, ap):
    """p's rvgd alive but not answering (as when busy in a drain): not
    "not installed" (5, a node ban) nor "stopped" (7); stop must not
    succeed while it lives. 20 s timeout: the agent retries status 5 s."""
    pid = p.pid()
    p.pids_seen.add(pid)
    p.freeze()
    try:
        for interval in ('20000', '0'):
            rc, _ = ap.run('monitor', CRM_meta_interval=interval, CRM_meta_timeout='20000')
            check(rc == OCF_FAILED_MASTER, f'monitor (interval {interval}) of a promoted, '
                  f'stalled rvgd exited {rc}, expected {OCF_FAILED_MASTER}')
        rc, _ = ap.run('stop')
        check(rc != OCF_SUCCESS or not rvgtest.pid_alive(pid),
              f'stop exited 0 while rvgd {pid} is alive')
        check(rc == OCF_SUCCESS, f'stop of a stalled rvgd exited {rc}')
    finally:
        p.cont()


# rvgadm status --json of a running secondary with a session, no flags,
# and a key under primary_session that is also a flag's name.
STATUS_JSON = '''{
  "consistent": true,
  "flags": {},
  "health": "ok",
  "primary_session": {
    "failback": 1
  },
  "rlinks": [
    {
      "name": "p",
      "state": "connected"
    }
  ],
  "role": "secondary",
  "running": true
}
'''


def parser(env):
    fake = os.path.join(env.root, 'fake-rvgadm')
    with open(fake, 'w') as f:
        f.write(f"#!/bin/sh\ncat <<'EOF'\n{STATUS_JSON}EOF\n")
    os.chmod(fake, 0o755)
    host = types.SimpleNamespace(name='fake', rvg='rvg', home=os.path.join(env.root, 'fake'))
    agent = Agent(env, host, '')
    agent.params['rvgadm'] = fake
    agent.run('monitor', OCF_SUCCESS)
    check(agent.score() == 50, f'a consistent secondary with a session and no flags has '
          f"promotion score {agent.score()} (primary_session's keys read as flags?)")
    marker = os.path.join(env.root, 'injected')
    agent.run('monitor', OCF_SUCCESS, peer=f"p'; touch {marker}; '")
    check(not os.path.exists(marker), 'the peer parameter was run as shell code')


def inconsistent(env):
    q, t = pair(env, ('q', 't'))
    at = Agent(env, t, t.mountpoint)
    model = rvgdata.Model(SIZES, 71)
    q.write_plan(model, plan(71, 20, 0))
    q.drain()
    q.rvgadm('set', q.rvg, t.name, 'bandwidth_limit=256K')
    q.rvgadm('resync', q.rvg, t.name, '--full')
    wait_until(lambda: not t.status()['consistent'], 30,
               't is inconsistent: the full resync has begun')
    q.kill9()
    rvgtest.lazy_unmount(q.mountpoint)
    at.run('monitor', OCF_SUCCESS)
    check(at.score() is None, f'an inconsistent secondary has promotion score {at.score()}')
    rc, out = at.run('promote')
    check(rc not in (OCF_SUCCESS, OCF_RUNNING_MASTER) and 'consistent' in out,
          f'promote of an inconsistent secondary exited {rc}: {out}')
    st = t.status()
    check(st['role'] == 'secondary' and st['running'],
          f'after the refused promote t is {st["role"]}, running {st["running"]}')
    # What an administrator who accepts the risk does: force_takeover.
    at.run('promote', OCF_SUCCESS, force_takeover='true')
    at.run('monitor', OCF_RUNNING_MASTER)
    st = t.status()
    check(st['role'] == 'primary' and st['consistent'],
          f'after a forced promote t is {st["role"]}, consistent {st["consistent"]}')
    check_volumes(t, model, 'the copy from before the cut-off resync (undo area restored)')
    at.run('stop', OCF_SUCCESS)


def main(env):
    ocf_tester(env)
    p, s, ap, as_ = start_and_promote(env)
    model = rvgdata.Model(SIZES, 61)
    p.write_plan(model, plan(61, 20, 0))
    p.drain()
    planned_switch(p, s, ap, as_, model)
    failover(p, s, ap, as_, model)
    failback(p, s, ap, as_, model)
    parser(env)
    inconsistent(env)


if __name__ == '__main__':
    rvgtest.run(main)
