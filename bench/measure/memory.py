"""Resident-memory measurement of the current process (Linux /proc, psutil elsewhere), and the
gated memory figure of a cell: one sample per timing pass, each from a fresh worker.

Peak RSS (VmHWM) can be reset on Linux by writing "5" to /proc/self/clear_refs, which lets one
worker process measure each cell's own peak instead of the peak of everything it ran before. The
reset is not enough on its own: memory a bigger model freed earlier in the worker stays resident
in the allocator's arenas, so a reused worker's figure depends on cell order (tf/mlp/digits read
904 MiB after the GRU, 763 MiB alone). A cell's figure is therefore taken in a fresh worker, as
its peak above the framework's post-import baseline: what the model, its optimizer state, its
activations and its copy of the data cost, without the import (85-95 % of the raw peak).

One such figure is one sample of a jittery quantity: fresh workers of the same cell read up to
18 % apart (docs/measurement.md says why). The figure ``bench compare`` gates on is therefore
taken once per timing pass, each pass giving every cell a worker that served no cell before, over
training steps only: the build and the warm-up (a fixed count of synced steps and one window of
as many), read before the timed windows. Not over the windows: a window's batches are staged before
its clock starts, so its memory grows with its length, which the time budget sets from the
machine's speed (tf's MNIST-1D MLP read 28 MiB after 316 staged steps and 65 MiB after 1,800).
No evaluation at batch 1000 and no inference either. Summarised like throughput
(:func:`steps_summary`). On an accelerator the sample
is the framework allocator's peak, which is what decides whether a batch fits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench.measure.intervals import log_mean_ci


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


#: What a memory sample measures, by where it was read; two records are compared only on one.
RSS_SOURCE = "peak RSS above the post-import baseline"
DEVICE_SOURCE = "accelerator allocator peak"


def sample_bytes(memory: dict[str, Any] | None) -> tuple[int, str] | None:
    """One pass's sample from its ``memory`` entry (:func:`cell_memory`): the allocator's peak on
    an accelerator, else the peak above the baseline; None unless the worker was fresh."""
    if not memory or not memory.get("fresh_worker"):
        return None
    if memory.get("device_peak_bytes") is not None:
        return int(memory["device_peak_bytes"]), DEVICE_SOURCE
    return int(memory["peak_above_baseline_bytes"]), RSS_SOURCE


def steps_summary(
    entries: list[dict[str, Any] | None], confidence: float = 0.95
) -> dict[str, Any] | None:
    """The gated figure from the timing passes' memory entries: the geometric mean of the
    samples with a t interval on their logs (as throughput over passes,
    :func:`bench.measure.intervals.log_mean_ci`), or the one sample with no interval. None
    without a sample (no timing passes, or none from a fresh worker)."""
    taken = [s for s in (sample_bytes(e) for e in entries) if s is not None]
    if not taken:
        return None
    sources = {source for _, source in taken}
    source = DEVICE_SOURCE if DEVICE_SOURCE in sources else RSS_SOURCE
    samples = [b for b, s in taken if s == source]
    out: dict[str, Any] = {
        "source": source,
        "samples_bytes": samples,
        "n_samples": len(samples),
        "median_bytes": float(np.median(samples)),
        "mean_bytes": float(samples[0]),
        "ci_low_bytes": None,
        "ci_high_bytes": None,
        "method": "one fresh-worker sample: no interval",
    }
    if len(samples) >= 2 and min(samples) > 0:
        centre, lo, hi = log_mean_ci(np.asarray(samples, float), confidence)
        out.update(mean_bytes=centre, ci_low_bytes=lo, ci_high_bytes=hi,
                   method=f"geometric mean of {len(samples)} fresh-worker passes, t interval on "
                   "their logs")  # fmt: skip
    return out


def gated_figure(record: dict[str, Any]) -> dict[str, Any] | None:
    """What a reader is shown as a record's memory figure, the one ``bench compare`` gates on:
    {"bytes", "low", "high", "n", "label"}. The timing passes' figure (``memory.steps``, with its
    interval from two samples on), else the training pass's whole-run peak above the baseline
    (one sample, no interval), else the worker's peak RSS (older records); None if none."""
    m = record.get("memory") or {}
    steps = m.get("steps")
    if steps and steps.get("n_samples"):
        return {
            "bytes": float(steps["mean_bytes"]),
            "low": steps.get("ci_low_bytes"),
            "high": steps.get("ci_high_bytes"),
            "n": int(steps["n_samples"]),
            "label": "training steps" if steps["source"] == RSS_SOURCE else "device peak",
        }
    if m.get("peak_above_baseline_bytes") is not None:
        return {"bytes": float(m["peak_above_baseline_bytes"]), "low": None, "high": None,
                "n": 1, "label": "whole run"}  # fmt: skip
    if record.get("peak_rss_bytes"):
        return {"bytes": float(record["peak_rss_bytes"]), "low": None, "high": None, "n": 1,
                "label": "peak RSS"}  # fmt: skip
    return None


def figure_note(figure: dict[str, Any]) -> str:
    """What a gated memory figure (:func:`gated_figure`) is when it is not the training steps'
    with an interval: "1 sample", "whole run" (no timing passes' samples),
    "peak RSS" (older records: the worker's peak, baseline included), "device peak"; else ""."""
    notes = [] if figure["label"] == "training steps" else [figure["label"]]
    if figure["label"] in ("training steps", "device peak") and figure["low"] is None:
        notes.append(f"{figure['n']} sample{'s' * (figure['n'] != 1)}")
    return ", ".join(notes)
