"""What every measuring child process does before its framework is imported: pin it to the
run's CPU mask, send the framework's chatter to a log file, and report a failure as one line.

Shared by the training workers (:mod:`bench.run.worker`), the data-parallel ranks and the
calibration children (:mod:`bench.measure.calibrate`), so each process is set up the same way.
"""

from __future__ import annotations

import os


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and first message line (no traceback for users)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def redirect_output(log_path: str) -> None:
    """Send the framework's own chatter (TF's oneDNN notice, compiler logs, a crash's
    traceback) to the run's log file instead of the user's terminal."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def pin_cpus(cpus: list[int] | None) -> list[int]:
    """Restrict this process to ``cpus`` (None: keep the inherited mask) and return the mask in
    force, read back from the kernel. Every worker gets the same mask before its framework is
    imported, so frameworks whose thread count cannot be set (JAX/XLA) still share the same
    cores as the others; the mask is the one CPU-resource fact every framework can be held to."""
    if not hasattr(os, "sched_setaffinity"):
        return list(range(os.cpu_count() or 1))
    if cpus:
        os.sched_setaffinity(0, set(cpus))
    return sorted(os.sched_getaffinity(0))
