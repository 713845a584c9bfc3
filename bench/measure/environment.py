"""What machine and software a run used, captured without importing any framework.

Framework versions come from package metadata (``importlib.metadata``), so capturing the
environment stays instant; the versions a worker actually imported are in each record's manifest.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

PACKAGES = (
    "torch", "tensorflow", "tensorflow-cpu", "keras", "jax", "jaxlib", "numpy", "pandas",
    "scikit-learn", "mnist1d",
)  # fmt: skip


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Cores this process may run on (affinity-aware), the default thread count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def gpu_names() -> list[str]:
    """NVIDIA GPUs by nvidia-smi, if present (no framework import)."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def git_info(root: Path | None = None) -> dict[str, Any]:
    root = root or Path(__file__).resolve().parents[2]  # the repository

    def git(*args: str) -> str | None:
        try:
            return subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": git("rev-parse", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }


def busy_processes(threshold: float = 20.0, interval: float = 0.5) -> list[dict[str, Any]]:
    """Other processes using the CPU right now (percent of one core over ``interval``).

    Timings are only as good as the machine is quiet; torch's OpenMP pool in particular slows
    down many-fold when another process holds a core. Recorded so a report can say so.
    """
    me = os.getpid()
    procs = [p for p in psutil.process_iter(["pid", "name"]) if p.info["pid"] != me]
    for p in procs:
        try:
            p.cpu_percent(None)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    import time

    time.sleep(interval)
    busy = []
    for p in procs:
        try:
            pct = p.cpu_percent(None)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if pct >= threshold:
            busy.append({"pid": p.info["pid"], "name": p.info["name"], "cpu_percent": round(pct)})
    return sorted(busy, key=lambda b: -b["cpu_percent"])


def busy_names(env: dict[str, Any] | None) -> list[str]:
    """The busy processes a run recorded at its start, as ``name (percent%)``, busiest first:
    the words of ``bench run``'s warning and of ``bench compare``'s disturbed machine."""
    busy = (env or {}).get("busy_processes") or []
    return [f"{b.get('name', '?')} ({b.get('cpu_percent', '?')}%)" for b in busy
            if isinstance(b, dict)]  # fmt: skip


MACHINE_FIELDS = ("cpu_model", "logical_cores", "memory_bytes", "gpus")
# Two runs on one machine may see a few MiB less memory after a kernel update or a reboot.
MEMORY_TOLERANCE = 0.02


def machine_fingerprint(env: dict[str, Any]) -> str:
    """The machine alone (CPU model, cores, GPUs), so runs of two framework versions on one
    machine share it: history pages and calibration caches are per machine, and ``bench
    compare`` refuses only a machine change. Total memory is compared by
    :func:`machine_difference` instead (with a tolerance), not hashed, so a pytest-benchmark file
    that does not record it still lands on the suite's machine."""
    parts = [env["cpu_model"], str(env["logical_cores"]), ",".join(env.get("gpus") or [])]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def software(env: dict[str, Any]) -> dict[str, str]:
    """The software side of a run: Python and the framework/library versions."""
    out = {"python": str(env["python"])} if env.get("python") else {}
    out.update({str(k): str(v) for k, v in sorted((env.get("packages") or {}).items())})
    return out


def software_fingerprint(env: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in software(env).items()]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def machine_difference(base: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The machine fields that differ between two runs' environments (empty: same machine).

    Compared field by field, not by the stored fingerprint: runs written before the split
    hashed the package versions into it."""
    diffs = []
    for name in MACHINE_FIELDS:
        a, b = base.get(name), current.get(name)
        if a is None or b is None:  # not recorded by one side (an imported file): not evidence
            continue
        if name == "memory_bytes":
            if abs(int(a) - int(b)) > MEMORY_TOLERANCE * max(int(a), int(b)):
                diffs.append("memory")
        elif (list(a) if name == "gpus" else a) != (list(b) if name == "gpus" else b):
            diffs.append(name.replace("_", " "))
    return diffs


def software_changes(base: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Each software difference as one phrase, e.g. ``torch 2.12.0 → 2.13.0``, ``jax (new)
    0.4.30``, ``jax 0.4.30 (removed)``."""
    a, b = software(base), software(current)
    out = []
    for name in sorted(set(a) | set(b)):
        if name not in a:
            out.append(f"{name} (new) {b[name]}")
        elif name not in b:
            out.append(f"{name} {a[name]} (removed)")
        elif a[name] != b[name]:
            out.append(f"{name} {a[name]} → {b[name]}")
    return out


def capture() -> dict[str, Any]:
    """The environment of this run, as written to env.json."""
    env: dict[str, Any] = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "os": f"{platform.system()} {platform.release()}",
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "physical_cores": psutil.cpu_count(logical=False),
        "logical_cores": psutil.cpu_count(logical=True),
        "usable_cores": usable_cores(),
        "memory_bytes": psutil.virtual_memory().total,
        "gpus": gpu_names(),
        "packages": package_versions(),
        "git": git_info(),
        "hostname": platform.node(),
    }
    env["fingerprint"] = machine_fingerprint(env)
    env["software_fingerprint"] = software_fingerprint(env)
    env["load_average"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    env["busy_processes"] = busy_processes()
    return env
