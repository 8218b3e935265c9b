#!/usr/bin/python3
"""migrate (doc/failover.md): a planned switch of roles, real rvgd
processes on both hosts.

1. Refusals change nothing: with a volume held open on the primary's mount
   (busy), with the secondary stopped, and with a secondary that has no
   mountpoint to take over with (it refuses the HANDOVER: the primary had
   already unmounted, and mounts again). After each the primary serves
   writes that replicate.
2. There and back: p migrates to s (--mount). s is primary, mounted, with
   p's bytes, under a new generation that begins at p's last seq + 1; p
   is s's secondary (no mount). s's writes reach p with no resync (the
   RLINK's resync counters stay at zero) and the images are byte-identical.
   Then s migrates back to p without --mount (p's recorded mountpoint).
3. In doubt: the secondary is frozen (SIGSTOP) when the HANDOVER goes
   out, so no answer comes in time. The old primary does not go back to
   being primary (that could split the brain): it becomes a secondary and
   says so. Once thawed, the secondary takes the HANDOVER, becomes
   primary, and the old primary follows it with the same bytes.
4. Killed in doubt: the old primary dies (SIGKILL) after sending the
   HANDOVER, before any answer (the secondary is frozen). Restarted, it is
   fenced (flag replaced_by, writes EROFS): it promised the role away
   before sending, so it cannot be a second primary. Thawed, the secondary
   either takes the HANDOVER late or, when it counted the session as gone,
   is made primary by hand as the flag's reason says (stop the old
   primary, takeover); either way the old primary ends its secondary with
   the same bytes.
5. As root: ext4 on a loop device on the volume survives the migrate there
   and back: fsck-clean on each new primary, every file's sha256 as
   written, files written on s present on p.
"""

import errno
import json
import os
import subprocess

import rlinkctl
import rvgdata
import rvgtest
import test_ext4_on_loop as ext4
from rvgtest import check, log
from test_failback import SIZES, check_images, pair, plan, start_old_primary, wait_failback


def migrate(host, target, *extra):
    """rvgadm --json migrate; (exit code, reply or None, stderr)."""
    cp = host.rvgadm('--json', 'migrate', host.rvg, target.name, *extra, check=False)
    reply = json.loads(cp.stdout) if cp.returncode == 0 else None
    return cp.returncode, reply, cp.stderr.strip()


def mount_for(host):
    os.makedirs(host.mountpoint, exist_ok=True)
    return ['--mount', host.mountpoint]


def check_primary(host, what):
    st = host.status()
    check(st['role'] == 'primary' and st['running'] and st['mount'] == host.mountpoint,
          f'{host.name} {what}: role {st["role"]}, running {st["running"]}, mount {st["mount"]}')
    check(rvgtest.mount_entry(host.mountpoint) is not None,
          f'{host.name} {what}: nothing mounted at {host.mountpoint}')
    return st


def check_refused(p, s, model, seed, err, expected, what):
    check(expected in err, f'migrate {what}: refused for another reason: {err!r}')
    log(f'refused ({what}): {err}')
    check_primary(p, f'after the refused migrate ({what})')
    check(s.status()['role'] == 'secondary', f'{s.name} is no longer a secondary')
    p.write_plan(model, plan(seed, 5, seed * 100))
    p.drain()
    check_images(s, model, f'the writes made after the refusal ({what})')


def refusals(env):
    p, s = pair(env, ('p1', 's1'))
    model = rvgdata.Model(SIZES, 5)
    p.write_plan(model, plan(5, 10, 0))

    fd = os.open(p.mounted('a'), os.O_RDWR)
    try:
        rc, _, err = migrate(p, s, *mount_for(s))
    finally:
        os.close(fd)
    check(rc != 0, 'migrate with a busy volume succeeded')
    check_refused(p, s, model, 6, err, 'in use', 'a volume held open')

    s.stop()
    rc, _, err = migrate(p, s, *mount_for(s))
    check(rc != 0, 'migrate to a stopped secondary succeeded')
    s.start()
    p.wait_connected()
    check_refused(p, s, model, 7, err, 'needs a connected secondary', 'secondary stopped')

    # No --mount, and s never mounted anything: s refuses the HANDOVER
    # after p unmounted; p mounts again and goes on as primary.
    rc, _, err = migrate(p, s)
    check(rc != 0, 'migrate to a secondary without a mountpoint succeeded')
    check_refused(p, s, model, 8, err, 'no mountpoint recorded', 'no mountpoint on s')
    p.stop()
    s.stop()


def switch(old, new, *extra):
    """Migrates from `old` to `new`; checks the roles, the generation
    chain and the mount, and returns the new primary's generation."""
    before = old.status()
    rc, reply, err = migrate(old, new, *extra)
    check(rc == 0, f'migrate {old.name} -> {new.name}: exit {rc}: {err}')
    check(reply['start_seq'] == before['last_seq'] + 1,
          f'the new generation begins at seq {reply["start_seq"]}, not at the old primary\'s '
          f'last seq + 1 ({before["last_seq"] + 1})')
    st = check_primary(new, 'after migrate')
    check(st['generation'] == reply['generation'] != before['generation'],
          f'generations: old {before["generation"]}, reply {reply["generation"]}, new primary '
          f'{st["generation"]}')
    check('last_owner' in st['flags'], f'flags of the new primary: {st["flags"]}')
    rvgtest.wait_until(lambda: old.status()['generation'] == reply['generation'], 30,
                       f'{old.name} adopts the generation of {new.name}')
    old_st = old.status()
    check(old_st['role'] == 'secondary' and old_st['running'] and not old_st['mount'],
          f'{old.name} after migrate: role {old_st["role"]}, mount {old_st["mount"]}')
    check(rvgtest.mount_entry(old.mountpoint) is None, f'{old.mountpoint} is still mounted')
    log(f'{new.name} is primary of {reply["generation"]} from seq {reply["start_seq"]}; '
        f'{old.name} is its secondary')
    return reply['generation']


def check_no_resync(primary, rlink):
    counters = rlinkctl.rlink(primary, rlink).get('counters') or {}
    check(counters.get('resync_bytes_sent', 0) == 0,
          f'RLINK {rlink} of {primary.name} resynced {counters.get("resync_bytes_sent")} bytes '
          'after a migrate: it was to stream from the SRL only')


def there_and_back(env):
    p, s = pair(env, ('p', 's'))
    model = rvgdata.Model(SIZES, 11)
    p.write_plan(model, plan(11, 30, 0))
    switch(p, s, *mount_for(s))
    for i, (name, _, _) in enumerate(s.volumes):
        rvgdata.compare_file_to_bytes(s.mounted(name), bytes(model.volumes[i]))
    log(f'{s.name} serves the data {p.name} wrote, through its own mount')

    s.write_plan(model, plan(12, 20, 1000))
    s.drain()
    check_images(p, model, 'the new primary\'s writes')
    rvgtest.assert_images_identical(s, p)
    check_no_resync(s, p.name)

    switch(s, p)  # p's recorded mountpoint
    p.write_plan(model, plan(13, 20, 2000))
    p.drain()
    check_images(s, model, 'the writes made after migrating back')
    rvgtest.assert_images_identical(p, s)
    check_no_resync(p, s.name)
    p.stop()
    s.stop()


def drained_pair_frozen(env, names, seed):
    """A pair whose primary wrote and drained; the secondary is frozen
    (SIGSTOP) when this returns. Returns (p, s, model)."""
    p, s = pair(env, names)
    model = rvgdata.Model(SIZES, seed)
    p.write_plan(model, plan(seed, 10, 0))
    p.drain()
    s.freeze()
    return p, s, model


def in_doubt(env):
    p, s, model = drained_pair_frozen(env, ('pd', 'sd'), 21)
    try:
        rc, _, err = migrate(p, s, *mount_for(s), '--timeout', '2')
    finally:
        s.cont()
    # No answer within the wait, or the session lost to the silence first.
    unanswered = 'did not answer' in err or 'ended before it answered' in err
    check(rc != 0 and unanswered and 'secondary now' in err and 'not here' in err,
          f'migrate to a frozen secondary: exit {rc}, {err!r}')
    log(f'in doubt: {err}')
    rvgtest.wait_until(lambda: s.status()['role'] == 'primary', 30,
                       f'{s.name}, thawed, takes the HANDOVER and becomes primary')
    rvgtest.wait_until(lambda: p.status()['generation'] == s.status()['generation'] and
                       p.status()['primary_session'], 30, f'{p.name} follows {s.name}')
    st = p.status()
    check(st['role'] == 'secondary' and not st['mount'], f'{p.name}: role {st["role"]}')
    s.write_plan(model, plan(22, 10, 1000))
    s.drain()
    check_images(p, model, 'the writes of the primary that took the HANDOVER late')
    p.stop()
    s.stop()


def check_fenced(p):
    """`p` restarted as the primary it was, but fenced: flag replaced_by,
    and a write through its mount fails with EROFS."""
    st = p.status()
    check(st['role'] == 'primary' and 'replaced_by' in st['flags'],
          f'{p.name} restarted after sending the HANDOVER: role {st["role"]}, flags {st["flags"]}')
    try:
        with open(p.mounted(p.volumes[0][0]), 'r+b', buffering=0) as f:
            f.write(b'split brain?')
        wrote = True
    except OSError as e:
        check(e.errno == errno.EROFS, f'a write on the fenced {p.name} failed with {e!r}')
        wrote = False
    check(not wrote, f'{p.name} took a write after handing its role over')
    log(f'{p.name} restarted fenced: {st["flags"]["replaced_by"]}')


def killed_in_doubt(env):
    p, s, model = drained_pair_frozen(env, ('pk', 'sk'), 31)
    try:
        proc = env.spawn(p.argv('migrate', p.rvg, s.name, *mount_for(s), '--timeout', '60'),
                         env=dict(os.environ, RVGD=p.rvgd_path), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
        rvgtest.wait_until(lambda: 'HANDOVER sent' in p.log_text(), 60,
                           f'{p.name} sends the HANDOVER')
        p.kill9()
        # rvgadm learns at once that its rvgd died, not at the timeout.
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise rvgtest.TestFailure('rvgadm migrate still waits 10 s after its rvgd died')
        check(proc.returncode != 0 and 'rvgd stopped before it answered' in err,
              f'rvgadm migrate after its rvgd died: exit {proc.returncode}, {err.strip()!r}')
        log(f'rvgadm migrate: {err.strip()}')
        rvgtest.lazy_unmount(p.mountpoint)
        start_old_primary(p)
        check_fenced(p)
    finally:
        s.cont()
    try:
        rvgtest.wait_until(lambda: s.status()['role'] == 'primary', 20,
                           f'{s.name} takes the late HANDOVER')
        took = True
    except rvgtest.TestFailure:
        took = False
    if took:
        log(f'{s.name} took the HANDOVER after the old primary had died')
    else:
        log(f'{s.name} dropped the HANDOVER of the dead session: made primary by hand')
        p.stop()
        s.rvgadm('takeover', s.rvg, *mount_for(s))
        start_old_primary(p)
    wait_failback(p, s)
    s.write_plan(model, plan(32, 10, 1000))
    s.drain()
    check_images(p, model, 'the new primary\'s writes after the old one died in doubt')
    rvgtest.assert_images_identical(s, p)
    p.stop()
    s.stop()


def ext4_there_and_back(env):
    if os.geteuid() != 0:
        log('not root: the ext4 migrate test needs losetup, mkfs and mount; skipped')
        return
    files, _ = ext4.pick_files()
    half = len(files) // 2
    p, s = pair(env, ('pe', 'se'), volumes=[('disk', '128M')])
    sums = ext4.copy_through_loop(env, p, files[:half], mkfs=True)
    switch(p, s, *mount_for(s))
    ext4.check_fsck(s.mounted('disk'), 'the volume on the new primary after migrate')
    ext4.check_files(env, s.mounted('disk'), sums)
    log(f'{s.name}: ext4 fsck-clean after migrate, {len(sums)} files intact')
    sums.update(ext4.copy_through_loop(env, s, files[half:]))
    switch(s, p)
    ext4.check_fsck(p.mounted('disk'), 'the volume after migrating back')
    ext4.check_files(env, p.mounted('disk'), sums)
    log(f'{p.name}: ext4 fsck-clean after migrating back, all {len(sums)} files intact')
    p.stop()
    s.stop()


def main(env):
    refusals(env)
    there_and_back(env)
    in_doubt(env)
    killed_in_doubt(env)
    ext4_there_and_back(env)


if __name__ == '__main__':
    rvgtest.run(main)
