"""Resident-memory measurement of the current process (Linux /proc, psutil elsewhere).

Peak RSS (VmHWM) can be reset on Linux by writing "5" to /proc/self/clear_refs, which lets one
worker process measure each cell's own peak instead of the peak of everything it ran before.
"""

from __future__ import annotations

from pathlib import Path

import psutil


def current_rss() -> int:
    return int(psutil.Process().memory_info().rss)


def peak_rss() -> int:
    """Peak resident set (bytes) since process start or the last :func:`reset_peak_rss`."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return current_rss()  # no /proc: the best available lower bound


def reset_peak_rss() -> bool:
    """Reset the peak to the current RSS; False where the OS does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True
