"""The fio workloads, identical on every target but for the file, and the
figures taken from fio's JSON output (fio 3.33, Debian 12)."""

import json
import subprocess

from benchlib.util import BenchError

FIO_TIMEOUT = 1800  # seconds for one fio run, far above any sane duration

# name -> (label, fio options beyond the common ones). All use psync: one
# write() or read() per I/O, as an application or a filesystem would.
WORKLOADS = {
    # end_fsync's time counts in fio's runtime, so the MB/s is "on disk".
    "seqwrite": ("seq write 1 MiB + end fsync", ["--rw=write", "--bs=1M", "--end_fsync=1"]),
    "randwrite": ("rand write 4 KiB + fsync each", ["--rw=randwrite", "--bs=4k", "--fsync=1"]),
    # The jobs share one file, as filesystem threads share one volume.
    "randwrite4": ("rand write 4 KiB, 4 jobs, fsync/32",
                   ["--rw=randwrite", "--bs=4k", "--fsync=32", "--numjobs=4",
                    "--group_reporting"]),
    "seqread": ("seq read 1 MiB O_DIRECT", ["--rw=read", "--bs=1M", "--direct=1"]),
}
TIMED = ("randwrite", "randwrite4")
WRITES = ("seqwrite", "randwrite", "randwrite4")


def command(fio, workload, path, seq_mib, rand_seconds, output):
    argv = [fio, f"--name={workload}", f"--filename={path}", f"--size={seq_mib}M",
            "--ioengine=psync", "--output-format=json", f"--output={output}",
            *WORKLOADS[workload][1]]
    if workload in TIMED:
        argv += ["--time_based", f"--runtime={rand_seconds}"]
    return argv


def version(fio):
    try:
        done = subprocess.run([fio, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise BenchError(f"cannot run {fio} ({e}); install fio (apt-get install fio)")
    return done.stdout.strip()


def run(argv, output):
    """Runs fio (argv from command(), writing to `output`); returns its one
    (group-reported) job. subprocess.run kills fio if we are interrupted,
    so nothing keeps the mount busy during clean-up."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=FIO_TIMEOUT,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise BenchError(f"fio failed (exit {done.returncode}): "
                         f"{(done.stderr or done.stdout).strip()[-500:]}")
    try:
        with open(output) as f:
            job = json.load(f)["jobs"][0]
    except (OSError, ValueError, KeyError, IndexError) as e:
        raise BenchError(f"fio wrote no usable JSON to {output}: {e}")
    finally:
        with open(output + ".log", "w") as f:
            f.write(done.stderr)
    if job.get("error"):
        raise BenchError(f"fio job {job.get('jobname')} failed with error {job['error']}")
    return job


def _percentile_us(stats, percent):
    """fio omits the percentiles of a latency it never measured."""
    value = (stats.get("percentile") or {}).get(f"{percent:.6f}")
    return None if value is None else value / 1000


def figures(workload, job):
    """The metrics of one run. MB/s are 10^6 bytes per second of fio's
    runtime; latencies are µs."""
    direction = job["read"] if workload == "seqread" else job["write"]
    result = {"io_bytes": direction["io_bytes"], "runtime_s": direction["runtime"] / 1000}
    if workload in ("seqwrite", "seqread"):
        result["mb_s"] = direction["bw_bytes"] / 1e6
    else:
        result["iops"] = direction["iops"]
    if workload == "randwrite":
        # For psync, clat is the write() call itself; "sync" is fio's record
        # of the fsync() calls.
        for name, stats in (("write", direction["clat_ns"]), ("fsync", job["sync"]["lat_ns"])):
            for percent in (50, 99):
                result[f"{name}_p{percent}_us"] = _percentile_us(stats, percent)
    result["fio_usr_cpu_pct"] = job.get("usr_cpu")
    result["fio_sys_cpu_pct"] = job.get("sys_cpu")
    return result

