"""The benchmark's output: medians and spreads of the repetitions, the human
tables (figures, ratios to the plain FUSE passthrough, resources) and the
JSON file with every figure and the machine it ran on."""

import datetime
import json
import os
import platform
import statistics
import subprocess

from benchlib.fio import WORKLOADS
from benchlib.util import GIB, MIB

REFERENCE = "plain"

# (row label, workload, metric)
FIGURE_ROWS = [
    ("seq write 1 MiB + end fsync, MB/s", "seqwrite", "mb_s"),
    ("rand 4 KiB write + fsync, IOPS", "randwrite", "iops"),
    ("rand 4 KiB write() p50, us", "randwrite", "write_p50_us"),
    ("rand 4 KiB fsync() p50, us", "randwrite", "fsync_p50_us"),
    ("rand 4 KiB 4 jobs fsync/32, IOPS", "randwrite4", "iops"),
    ("seq read 1 MiB O_DIRECT, MB/s", "seqread", "mb_s"),
]


def summarize(runs):
    """runs: target -> workload -> [metrics of each repetition]. Returns
    target -> workload -> metric -> {median, min, max, runs}."""
    summary = {}
    for target, workloads in runs.items():
        for workload, repetitions in workloads.items():
            names = sorted({name for metrics in repetitions for name in metrics})
            for name in names:
                values = [_round(m[name]) for m in repetitions if m.get(name) is not None]
                if not values:
                    continue
                summary.setdefault(target, {}).setdefault(workload, {})[name] = {
                    "median": statistics.median(values), "min": min(values),
                    "max": max(values), "runs": values}
    return summary


def _round(value):
    """Six significant digits: more than any of these figures deserves."""
    return float(f"{value:.6g}") if isinstance(value, float) else value


def median(summary, target, workload, metric):
    return summary.get(target, {}).get(workload, {}).get(metric, {}).get("median")


def peak_rss_mib(summary, target, roles):
    """The largest per-workload median peak RSS of the first of `roles` the
    target has."""
    for role in roles:
        values = [median(summary, target, w, f"rss_peak_mib_{role}") for w in WORKLOADS]
        values = [v for v in values if v is not None]
        if values:
            return max(values)
    return None


def ratios(summary, targets):
    """target -> "workload.metric" -> the target's median over the
    reference's."""
    result = {}
    for target in targets:
        if target == REFERENCE:
            continue
        for _, workload, metric in FIGURE_ROWS:
            a = median(summary, target, workload, metric)
            b = median(summary, REFERENCE, workload, metric)
            result.setdefault(target, {})[f"{workload}.{metric}"] = (
                None if a is None or not b else round(a / b, 4))
    return result


# ---------------------------------------------------------------- text

def _fmt(value, digits=1):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if abs(value) < 100 else f"{value:,.0f}"


def _rows(table):
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = []
    for n, row in enumerate(table):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append(" | ".join(cells))
        if n == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return lines


def _spread(summary, target, workload, metric):
    stats = summary.get(target, {}).get(workload, {}).get(metric)
    return "-" if stats is None else f"{_fmt(stats['min'])}-{_fmt(stats['max'])}"


def text(summary, targets, labels, settings, refused):
    lines = [f"rvg benchmark: seq {settings['seq_mib']} MiB, rand {settings['rand_seconds']} s, "
             f"median of {settings['repeat']}", ""]
    header = ["workload"] + [labels[t] for t in targets]
    lines += _rows([header] + [[label] + [_fmt(median(summary, t, w, m)) for t in targets]
                               for label, w, m in FIGURE_ROWS])
    if settings["repeat"] > 1:
        # On a shared machine the spread says how far to trust a median.
        lines += ["", f"min-max of the {settings['repeat']} runs"]
        lines += _rows([header] + [[label] + [_spread(summary, t, w, m) for t in targets]
                                   for label, w, m in FIGURE_ROWS])
    for target, workloads in refused.items():
        for workload, reasons in workloads.items():
            lines.append(f"refused: {labels[target]} {workload}, {len(reasons)} of "
                         f"{settings['repeat']} runs: {reasons[0]}")

    if REFERENCE in targets:
        others = [t for t in targets if t != REFERENCE]
        table = ratios(summary, targets)
        lines += ["", f"ratio to {labels[REFERENCE]} (throughput, IOPS: higher is better; "
                      "latency: lower is better)"]
        lines += _rows([["workload"] + [labels[t] for t in others]] +
                       [[label] + [_fmt(table[t][f"{w}.{m}"], 2) for t in others]
                        for label, w, m in FIGURE_ROWS])

    served = [t for t in targets if any(
        median(summary, t, w, "cpu_s") is not None for w in WORKLOADS)]
    if served:
        resource_rows = [[f"daemon CPU s per GiB, {WORKLOADS[w][0]}"] +
                         [_fmt(median(summary, t, w, "cpu_s_per_gib"), 2) for t in served]
                         for w in WORKLOADS]
        resource_rows.append(["peak RSS MiB, daemon or rvg primary"] +
                             [_fmt(peak_rss_mib(summary, t, ("daemon", "primary"))) for t in served])
        resource_rows.append(["peak RSS MiB, rvg secondary"] +
                             [_fmt(peak_rss_mib(summary, t, ("secondary",))) for t in served])
        resource_rows.append(["behind at seq write end, MiB"] + [
            _fmt(None if (v := median(summary, t, "seqwrite", "bytes_behind_at_end")) is None
                 else v / MIB) for t in served])
        resource_rows.append(["drain after seq write, s"] +
                             [_fmt(median(summary, t, "seqwrite", "drain_s"), 2) for t in served])
        lines += ["", "resources (CPU: utime+stime of the daemons, rvg: primary + secondary, "
                      "from fio's start until drained)"]
        lines += _rows([["resource"] + [labels[t] for t in served]] + resource_rows)
    return "\n".join(lines)


# ---------------------------------------------------------------- JSON

def _run(argv, cwd=None):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, check=True)
        return done.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def commit(source_dir):
    """The short commit, with "-dirty" if the tree has uncommitted changes."""
    head = _run(["git", "rev-parse", "--short", "HEAD"], cwd=source_dir)
    if head and _run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=source_dir):
        head += "-dirty"
    return head


def _filesystem(path):
    """Mount point, type and source of the filesystem holding `path`."""
    real = os.path.realpath(path)
    best = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            mount_point = fields[4]
            fstype, source = fields[fields.index("-") + 1:][:2]
            inside = real == mount_point or real.startswith(mount_point.rstrip("/") + "/")
            if inside and (best is None or len(mount_point) >= len(best["mount"])):
                best = {"mount": mount_point, "type": fstype, "source": source}
    return best


def machine(workdir):
    cpu = None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
    distro = None
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            distro = next((line.split("=", 1)[1].strip().strip('"') for line in f
                           if line.startswith("PRETTY_NAME=")), None)
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem_kib / (1 << 20), 1),
            "kernel": platform.release(), "os": distro, "hostname": platform.node(),
            "workdir": workdir, "filesystem": _filesystem(workdir)}


def build_info(build):
    """The build's buildtype, as meson recorded it."""
    try:
        with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
            options = json.load(f)
        return next((o["value"] for o in options if o["name"] == "buildtype"), None)
    except (OSError, ValueError):
        return None


def document(summary, targets, labels, context):
    """Everything for --json: context (commit, date, settings...) plus the
    figures, their spreads and the ratios."""
    return {
        **context,
        "targets": {t: labels[t] for t in targets},
        "workloads": {w: label for w, (label, _) in WORKLOADS.items()},
        "units": {"mb_s": "10^6 bytes/s", "iops": "operations/s", "*_us": "microseconds",
                  "cpu_s": "seconds", "cpu_s_per_gib": f"CPU seconds per {GIB} bytes of I/O",
                  "rss_peak_mib_*": "MiB", "drain_s": "seconds from fio's end",
                  "bytes_behind_at_end": "bytes"},
        "results": summary,
        "ratios_to_plain": ratios(summary, targets) if REFERENCE in targets else None,
    }


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds")
