"""A record's timed steps as the statistics see them: passes of rounds of steps.

The runner times every cell in *passes*: pass 0 is the training run itself; timing passes
1..P each start a fresh worker process later in the run and rebuild the cell. In a timing pass
each framework in turn runs one contiguous stretch (see :mod:`bench.run.runner`): a *cold window*
right after its idle gap, then *throughput windows* of consecutive steps with one device sync
at each window's end, then separately synced steps for latency. Passes are the statistics'
independent units: what varies from one process and one minute to the next (a noisy
neighbour, the allocator's luck, the clock) is what a rerun of the suite would see, and steps
inside one pass cannot show it.

A window is known only as a whole (n steps, s seconds: the host may run ahead of the device
inside it), so for the statistics it stands as n steps of s/n seconds each: a pass's median
step time is then the step-weighted median of its windows' mean step times, robust to one
disturbed window. Records written before windows existed (their timing passes hold synced
steps only) are read as before: schema 1 gained fields, no field changed meaning.

Everything that reads step times from a record (the record builder, the report, ``bench
compare``, the history page) goes through :func:`passes`, so they all agree on which steps
count: warm-up dropped, timing passes preferred over the training pass when there are any.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.measure import summaries

Rounds = list[np.ndarray]


def split_rounds(times: Any, sizes: Any, warmup: int) -> Rounds | None:
    """``times`` split into rounds of ``sizes``, the first ``warmup`` steps dropped.

    ``sizes`` may cover every step (warm-up included) or only the timed ones; the sums tell
    which. None when the times are unusable or the sizes do not add up (a truncated record): a
    wrong split would pair the wrong rounds. Rounds emptied by the warm-up are dropped.
    """
    if not isinstance(times, list | np.ndarray) or len(times) == 0:
        return None
    try:
        steps = np.asarray(times, dtype=float)
    except (TypeError, ValueError):
        return None
    if steps.ndim != 1 or not np.all(np.isfinite(steps) & (steps > 0)):
        return None
    warmup = max(int(warmup or 0), 0)
    if sizes is None or (isinstance(sizes, list) and not sizes):
        sizes = [len(steps) - warmup]
    if not all(isinstance(s, int | np.integer) for s in sizes):
        return None
    try:
        sizes = summaries.timed_round_sizes(len(steps), [int(s) for s in sizes], warmup) or []
    except ValueError:  # negative sizes, or sizes that do not add up
        return None
    timed = steps[warmup:]
    out = [r for r in np.split(timed, np.cumsum(sizes)[:-1]) if r.size]
    return out or None


def training_rounds(record: dict[str, Any]) -> Rounds | None:
    """The training pass's timed rounds (pass 0)."""
    return split_rounds(
        record.get("step_times_s"), record.get("round_sizes"), record.get("warmup_steps") or 0
    )


def window_rounds(seconds: Any, steps: Any) -> Rounds | None:
    """Windows as rounds: window i becomes ``steps[i]`` steps of ``seconds[i] / steps[i]``.
    None when the lists are unusable (lengths differ, a window of no steps or no time)."""
    if not isinstance(seconds, list | np.ndarray) or not isinstance(steps, list | np.ndarray):
        return None
    if len(seconds) == 0 or len(seconds) != len(steps):
        return None
    try:
        s = np.asarray(seconds, dtype=float)
        n = np.asarray(steps, dtype=float)
    except (TypeError, ValueError):
        return None
    if s.ndim != 1 or not np.all(np.isfinite(s) & (s > 0)) or not np.all(n >= 1):
        return None
    if not np.all(n == np.round(n)):
        return None
    return [np.full(int(k), t / k) for t, k in zip(s, n, strict=True)]


def pass_rounds(p: dict[str, Any]) -> Rounds | None:
    """One timing pass's throughput rounds: its windows when it has them, else (older records)
    its synced steps, warm-up dropped."""
    if p.get("window_seconds") is not None:
        return window_rounds(p.get("window_seconds"), p.get("window_steps"))
    return split_rounds(p.get("step_times_s"), p.get("round_sizes"), p.get("warmup_steps"))


def timing_passes(record: dict[str, Any]) -> list[Rounds]:
    """The timing passes' rounds (passes 1..P), unusable passes left out."""
    out = []
    for p in record.get("timing_passes") or []:
        if not isinstance(p, dict):
            continue
        rounds = pass_rounds(p)
        if rounds:
            out.append(rounds)
    return out


def latency_steps(record: dict[str, Any]) -> np.ndarray | None:
    """The separately synced steps that step latency percentiles come from: the timing
    passes' synced steps when there are any, else the training pass's, warm-up dropped."""
    synced = []
    for p in record.get("timing_passes") or []:
        if isinstance(p, dict):
            rounds = split_rounds(
                p.get("step_times_s"), p.get("round_sizes"), p.get("warmup_steps")
            )
            synced.extend(rounds or [])
    if not synced:
        synced = training_rounds(record) or []
    return np.concatenate(synced) if synced else None


def after_idle(record: dict[str, Any], batch_size: int) -> dict[str, Any] | None:
    """The cold-window figure: throughput of the first steps after each idle gap, one value
    per timing pass, against the pass's throughput windows. What a user who stops to evaluate
    often pays on every restart; kept out of the throughput, reported beside it."""
    cold, ratios, gaps, steps = [], [], [], set()
    for p in record.get("timing_passes") or []:
        c = p.get("cold") if isinstance(p, dict) else None
        if not isinstance(c, dict) or not c.get("seconds") or not c.get("steps"):
            continue
        rate = batch_size * c["steps"] / c["seconds"]
        cold.append(rate)
        gaps.append(float(c.get("idle_before_s") or 0.0))
        steps.add(int(c["steps"]))
        rounds = pass_rounds(p)
        if rounds:
            ratios.append(rate * float(np.median(np.concatenate(rounds))) / batch_size)
    if not cold:
        return None
    return {
        "unit": "samples/s",
        "steps": sorted(steps),
        "median": float(np.median(cold)),
        "pass_values": cold,
        "relative_to_windows": float(np.median(ratios)) if ratios else None,
        "idle_before_s": gaps,
    }


def passes(record: dict[str, Any]) -> list[Rounds] | None:
    """The passes that measure the cell's speed: the timing passes when the record has any,
    else the training pass alone (older runs, ``--timing-passes 0``, imported benchmarks)."""
    timed = timing_passes(record)
    if timed:
        return timed
    rounds = training_rounds(record)
    return [rounds] if rounds else None
