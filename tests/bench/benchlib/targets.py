"""The targets fio runs against: a raw image file, an image served by a FUSE
daemon (the plain passthrough, or RvgFs without replication), and a rvg
primary with one secondary on loopback, in one of three replication modes.

Every target's file is called `data` and is exactly --seq-mib MiB, so that
the fio command lines differ only in the path."""

import contextlib
import json
import os
import select
import signal
import subprocess
import time

from benchlib.util import MIB, BenchError, files_equal, free_port, lazy_unmount, log, pids_using, terminate

RVG_NAME = "bench"
COMMAND_TIMEOUT = 120  # seconds for one rvgadm command
READY_TIMEOUT = 30  # seconds for a FUSE daemon to mount
SYNC_TIMEOUT = 30  # seconds for an RLINK set synchronous to become so
DRAIN_TIMEOUT = 600  # seconds for the secondary to catch up after a workload
DRAIN_POLL = 0.05  # seconds between status polls while draining


def make_image(path, size_mib):
    """A sparse file, as rvgadm create makes one."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size_mib * MIB)


class Target:
    """What the runner needs of a target; the defaults fit the raw file."""

    def __init__(self, name, label):
        self.name = name
        self.label = label
        self.path = None  # the file fio uses, once started

    def start(self):
        pass

    def pids(self):
        """role -> pid of the processes that serve this target."""
        return {}

    def before_run(self):
        """Just before a workload (measured or not) starts."""

    def after_run(self, fio_end):
        """Right after fio returned (at time.monotonic() `fio_end`): waits
        until the target is quiet and returns extra metrics of the run, with
        "refused": why, if the run must not count."""
        return {}

    def stop(self):
        pass


class RawTarget(Target):
    def __init__(self, workdir, size_mib):
        super().__init__("raw", "raw image")
        self.image = os.path.join(workdir, "raw", "data")
        self.size_mib = size_mib

    def start(self):
        make_image(self.image, self.size_mib)
        self.path = self.image


class FuseTarget(Target):
    """An image served by a daemon invoked as `BINARY IMAGE MOUNTDIR`, which
    prints "ready" once the mount is live and unmounts on SIGTERM."""

    def __init__(self, name, label, binary, workdir, size_mib):
        super().__init__(name, label)
        self.binary = binary
        self.dir = os.path.join(workdir, name)
        # rvg-passthrough names the file in the mount after the image.
        self.image = os.path.join(self.dir, "data")
        self.mountdir = os.path.join(self.dir, "mnt")
        self.size_mib = size_mib
        self.proc = None

    def start(self):
        make_image(self.image, self.size_mib)
        os.makedirs(self.mountdir)
        self.proc = subprocess.Popen([self.binary, self.image, self.mountdir],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        ready, _, _ = select.select([self.proc.stdout], [], [], READY_TIMEOUT)
        line = self.proc.stdout.readline() if ready else b""
        if line != b"ready\n":
            raise BenchError(f"{os.path.basename(self.binary)} did not get ready (exit status "
                             f"{self.proc.poll()}); see its error above")
        self.path = os.path.join(self.mountdir, "data")

    def pids(self):
        return {"daemon": self.proc.pid}

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        lazy_unmount(self.mountdir)


class RvgPair:
    """A primary and one secondary on loopback, made and driven with rvgadm
    as an administrator would; the RLINK's mode is switched live with
    `rvgadm set`, so all rvg targets share the pair (and its warm caches)."""

    def __init__(self, rvgadm, rvgd, workdir, size_mib):
        self.rvgadm = rvgadm
        # rvgadm start launches $RVGD: the daemon of the same build.
        self.env = dict(os.environ, RVGD=rvgd)
        self.dir = os.path.join(workdir, "rvg")
        self.primary = os.path.join(self.dir, "primary-home")
        self.secondary = os.path.join(self.dir, "secondary-home")
        self.mountdir = os.path.join(self.dir, "mnt")
        self.image = os.path.join(self.dir, "primary.img")
        self.secondary_image = os.path.join(self.dir, "secondary.img")
        self.size = f"{size_mib}M"
        # Room for two seq workloads' worth of backlog, so that the SRL
        # never overflows and the figures are replication, not DCM.
        self.srl_size = f"{2 * size_mib + 64}M"
        self.started = []
        self.daemon_pids = {}
        self.mode = None
        self.fallbacks = 0

    def adm(self, home, *argv, timeout=COMMAND_TIMEOUT):
        command = [self.rvgadm, "--home", home, *argv]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  env=self.env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise BenchError(f"'{' '.join(command)}' did not finish within {timeout} s")
        if done.returncode != 0:
            raise BenchError(f"'{' '.join(command)}' failed: {done.stderr.strip()}")
        return done.stdout

    def status(self, home):
        return json.loads(self.adm(home, "status", RVG_NAME, "--json"))

    def rlink(self):
        """The RLINK's entry of the primary's status."""
        return self.status(self.primary)["rlinks"][0]

    def start(self):
        """Creates, pairs and starts both sides; returns the file in the
        primary's mount. Idempotent: every rvg target calls it."""
        if self.started:
            return os.path.join(self.mountdir, "data")
        endpoint = f"tcp://127.0.0.1:{free_port()}"
        os.makedirs(self.primary, mode=0o700)
        os.makedirs(self.secondary, mode=0o700)
        os.makedirs(self.mountdir)
        # Paired by CURVE keys like any RLINK rvgadm makes by default, so the
        # replication traffic is encrypted as in production.
        primary_key = self.adm(self.primary, "pubkey").strip()
        secondary_key = self.adm(self.secondary, "pubkey").strip()
        self.adm(self.secondary, "create", RVG_NAME,
                 "--volume", f"data={self.secondary_image}:{self.size}",
                 "--srl", f"{os.path.join(self.dir, 'secondary.srl')}:{self.srl_size}",
                 "--role", "secondary", "--listen", endpoint, "--primary-key", primary_key)
        self.adm(self.primary, "create", RVG_NAME,
                 "--volume", f"data={self.image}:{self.size}",
                 "--srl", f"{os.path.join(self.dir, 'primary.srl')}:{self.srl_size}",
                 "--role", "primary")
        self.adm(self.primary, "addsec", RVG_NAME, "sec", "--address", endpoint,
                 "--peer-key", secondary_key)
        self.started.append(self.secondary)
        self.adm(self.secondary, "start", RVG_NAME)
        self.started.append(self.primary)
        self.adm(self.primary, "start", RVG_NAME, "--mount", self.mountdir)
        for role, home in (("primary", self.primary), ("secondary", self.secondary)):
            pid = self.status(home).get("pid")
            if not isinstance(pid, int) or pid <= 0:
                raise BenchError(f"rvgadm status of the {role} shows no rvgd pid ({pid!r})")
            self.daemon_pids[role] = pid
        return os.path.join(self.mountdir, "data")

    def set_mode(self, name, attributes):
        """Sets the RLINK's attributes (live) unless mode `name` is already
        set; a synchronous mode must then actually be synchronous, also
        after an earlier run made it fall back."""
        if self.mode != name:
            self.adm(self.primary, "set", RVG_NAME, "sec", *attributes)
            self.mode = name
        if "synchronous=off" in attributes:
            return
        deadline = time.monotonic() + SYNC_TIMEOUT
        while self.rlink().get("synchronous_effective") != "sync":
            if time.monotonic() > deadline:
                raise BenchError(f"the RLINK is not synchronous {SYNC_TIMEOUT} s after "
                                 f"rvgadm set {' '.join(attributes)}")
            time.sleep(0.1)
        self.fallbacks = self.count_fallbacks()

    def count_fallbacks(self):
        """How often rvgd logged the RLINK turning asynchronous (override
        after a missed ack_timeout or a lost session)."""
        log_path = os.path.join(self.primary, "log", RVG_NAME + ".log")
        with open(log_path, errors="replace") as f:
            return f.read().count("now replicating asynchronously")

    def fell_back(self):
        """Why the RLINK is not, or was not throughout the last run,
        synchronous; None if it was."""
        rlink = self.rlink()
        if (rlink.get("synchronous_effective") != "sync" or
                self.count_fallbacks() != self.fallbacks):
            return (f"the RLINK fell back to asynchronous (state {rlink.get('state')}, "
                    f"last error {rlink.get('last_error')!r})")
        return None

    def wait_drained(self, since):
        """Polls until no write is waiting for the secondary's data ack;
        returns (seconds from `since`, writes and bytes behind at the first
        poll)."""
        first = None
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while True:
            rlink = self.rlink()
            now = time.monotonic()
            if first is None:
                first = rlink
            if rlink.get("writes_behind") == 0:
                return now - since, first.get("writes_behind"), first.get("bytes_behind")
            if now > deadline:
                raise BenchError(f"the secondary did not catch up within {DRAIN_TIMEOUT} s "
                                 f"(state {rlink.get('state')}, writes_behind "
                                 f"{rlink.get('writes_behind')})")
            time.sleep(DRAIN_POLL)

    def stop_and_verify(self):
        """Clean stop, primary first, then the two images must be equal."""
        if not self.started:
            return
        while self.started:
            self.adm(self.started.pop(), "stop", RVG_NAME)
        same = files_equal(self.image, self.secondary_image)
        log(f"[rvg] secondary image {'matches' if same else 'DIFFERS FROM'} the primary's")
        if not same:
            raise BenchError("the secondary's image differs from the primary's after the run")

    def force_stop(self):
        """Best effort after a failure: stop, then end leftover daemons."""
        for home in reversed(self.started):
            with contextlib.suppress(BenchError):
                self.adm(home, "stop", RVG_NAME, timeout=60)
        self.started.clear()
        for home in (self.primary, self.secondary):
            terminate(pids_using(home))
        lazy_unmount(self.mountdir)


class RvgTarget(Target):
    """The pair in one replication mode (the RLINK attributes to set)."""

    def __init__(self, name, label, pair, attributes):
        super().__init__(name, label)
        self.pair = pair
        self.attributes = attributes
        self.synchronous = "synchronous=off" not in attributes

    def start(self):
        self.path = self.pair.start()

    def pids(self):
        return dict(self.pair.daemon_pids)

    def before_run(self):
        self.pair.set_mode(self.name, self.attributes)

    def after_run(self, fio_end):
        """A synchronous run that fell back to asynchronous (override after
        a missed ack_timeout) comes back with "refused": its figures would
        not be synchronous ones."""
        seconds, writes_behind, bytes_behind = self.pair.wait_drained(fio_end)
        extra = {"drain_s": seconds, "writes_behind_at_end": writes_behind,
                 "bytes_behind_at_end": bytes_behind}
        reason = self.pair.fell_back() if self.synchronous else None
        if reason:
            extra["refused"] = reason
        return extra

    def stop(self):
        self.pair.stop_and_verify()
