"""Resident-memory measurement of the current process (Linux /proc, psutil elsewhere).

Peak RSS (VmHWM) can be reset on Linux by writing "5" to /proc/self/clear_refs, which lets one
worker process measure each cell's own peak instead of the peak of everything it ran before. The
reset is not enough on its own: memory a bigger model freed earlier in the worker stays resident
in the allocator's arenas, so a reused worker's figure depends on cell order (tf/mlp/digits read
904 MiB after the GRU, 763 MiB alone). A cell's figure is therefore taken in a fresh worker, as
its peak above the framework's post-import baseline: what the model, its optimizer state, its
activations and its copy of the data cost, without the import (85-95 % of the raw peak).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def cell_memory(
    baseline: int, peak: int, fresh_worker: bool, device_peak: int | None = None
) -> dict[str, Any]:
    """A cell's ``memory`` record field: the framework's post-import RSS (``baseline_bytes``),
    the cell's peak above it, whether the worker served no cell before (only then is the figure
    independent of cell order) and the framework allocator's peak on an accelerator (None on
    the CPU)."""
    return {
        "baseline_bytes": int(baseline),
        "peak_above_baseline_bytes": max(int(peak) - int(baseline), 0),
        "fresh_worker": bool(fresh_worker),
        "device_peak_bytes": None if device_peak is None else int(device_peak),
    }
