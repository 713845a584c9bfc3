"""Start a data-parallel cell's ranks on this machine and watch them: one process per rank
(:mod:`bench.run.rank`), a rendezvous address on the loopback interface with free ports, each
rank its own process group so a failure stops all of them, and the result files read back.

Why a launcher of its own rather than ``torchrun``: tf has no launcher, and the suite must start,
time out and clean up both engines' ranks the same way. On several machines the ranks are started
by hand (or by torchrun / a TF_CONFIG per node) with the same rank driver, see
docs/distributed.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.run.job_file import write_job

LOOPBACK = "127.0.0.1"


#: a launch's limit when the run gives no --cell-timeout: ranks must never wait forever
DEFAULT_LAUNCH_TIMEOUT = 1800.0


#: seconds a rank waits for the others at the rendezvous (bounded by the launch's time left)
RENDEZVOUS_TIMEOUT = 120.0


#: grace between SIGTERM and SIGKILL when the other ranks are stopped
TERMINATE_GRACE = 3.0


ROOT = Path(__file__).resolve().parents[2]  # the repository: bench/run/launch.py


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on the loopback interface (held open together while they
    are picked, so they differ; another process could still take one before the ranks bind)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def describe_exit(rank: int, pid: int, code: int) -> str:
    """One line naming the rank and how it ended (its signal's name when it was killed)."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"rank {rank} (pid {pid}) was killed by {name}"
    return f"rank {rank} (pid {pid}) exited with status {code}"


def last_error_line(log: Path) -> str | None:
    """The last line of a rank's log that names an error (its exception, or the one line a
    rank prints for a bad job file: ``bench.run.rank: error: ...``), if any."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if "Error" in line or "Exception" in line or "error:" in line:
            return line.strip()[:300]
    return None


@dataclass
class LaunchResult:
    status: str  # "ok" | "failed" | "timeout"
    error: str | None
    ranks: list[dict[str, Any]] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)
    seconds: float = 0.0


def _stop(procs: list[subprocess.Popen]) -> None:
    """Terminate every rank still running (its whole process group), then reap them all."""
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + TERMINATE_GRACE
    for p in procs:
        try:
            p.wait(max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def launch(
    job: dict[str, Any],
    world: int,
    out_dir: Path,
    timeout: float,
    on_started: Any = None,
    ranks: list[int] | None = None,
    ports: list[int] | None = None,
) -> LaunchResult:
    """Run the ranks of ``job`` that live on this machine (``ranks``, default all ``world``)
    until all finish, one fails, or ``timeout`` seconds pass; every rank started here is gone
    when this returns. The others (another machine's) meet them at ``job["address"]`` on
    ``ports`` (default: free loopback ports; give the same list on every machine).

    ``on_started(pids)`` is called once the ranks are started (tests kill one from there).
    """
    local = list(range(world)) if ranks is None else sorted(ranks)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("rank*"):
        stale.unlink()
    # the frameworks' own rendezvous limits sit past the launch's: the launcher decides, and
    # says which ranks never joined
    job = {**job, "rendezvous_timeout": timeout + 30.0}
    job_path = out_dir / "job.npz"  # arrays and JSON, never a pickle (bench.run.job_file)
    write_job(job_path, job)
    port_list = ",".join(str(p) for p in (ports or free_ports(world)))
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    procs: list[subprocess.Popen] = []
    t0 = time.monotonic()
    try:
        for rank in local:
            log = open(out_dir / f"rank{rank}.log", "wb")  # noqa: SIM115 (the child owns it)
            cmd = [sys.executable, "-m", "bench.run.rank", str(job_path), str(rank),
                   str(world), port_list, str(out_dir)]  # fmt: skip
            # its own session: stopping it stops everything it started (killpg)
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                start_new_session=True,
            )  # fmt: skip
            procs.append(proc)
            log.close()
        pids = [p.pid for p in procs]
        if on_started is not None:
            on_started(pids)
        while True:
            codes = [p.poll() for p in procs]
            for rank, proc, code in zip(local, procs, codes, strict=True):
                if code not in (None, 0):
                    why = describe_exit(rank, proc.pid, code)
                    detail = last_error_line(out_dir / f"rank{rank}.log") if code > 0 else None
                    _stop(procs)
                    error = f"{why}: {detail}" if detail else why
                    others = [k for k in local if k != rank]
                    if others:
                        error += f"; ranks {others} terminated"
                    return LaunchResult("failed", error, pids=pids,
                                        seconds=time.monotonic() - t0)  # fmt: skip
            if all(code == 0 for code in codes):
                break
            if time.monotonic() - t0 > timeout:
                waiting = [k for k in local if not (out_dir / f"rank{k}.ready").exists()]
                _stop(procs)
                if waiting:
                    remote = [k for k in range(world) if k not in local]
                    elsewhere = f" for ranks {remote} (started elsewhere)" if remote else ""
                    error = (f"rendezvous never completed within {timeout:g} s: ranks "
                             f"{waiting} still waiting{elsewhere}")  # fmt: skip
                else:
                    error = f"stopped after the {timeout:g} s cell time limit"
                return LaunchResult("timeout", error, pids=pids, seconds=time.monotonic() - t0)
            time.sleep(0.05)
    finally:
        _stop(procs)
        job_path.unlink(missing_ok=True)  # the data's copy; the logs stay
    results = [json.loads((out_dir / f"rank{k}.json").read_text()) for k in local]
    return LaunchResult("ok", None, results, pids, time.monotonic() - t0)
