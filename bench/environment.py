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
    root = root or Path(__file__).resolve().parent.parent

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


def machine_fingerprint(env: dict[str, Any]) -> str:
    """Runs compare only on the same fingerprint: CPU, cores, GPUs and framework versions."""
    parts = [
        env["cpu_model"],
        str(env["logical_cores"]),
        ",".join(env["gpus"]),
        ",".join(f"{k}={v}" for k, v in sorted(env["packages"].items())),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


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
    env["load_average"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    env["busy_processes"] = busy_processes()
    return env
