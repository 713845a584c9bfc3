"""A record's timed steps as the statistics see them: passes of rounds of steps.

The runner times every cell in *passes*: pass 0 is the training run itself; timing passes
1..P each start a fresh worker process later in the run, rebuild the cell and time a few
interleaved rounds. A *round* is a cluster of consecutive steps of one framework, run between
the other frameworks' rounds. Passes are the statistics' independent units: what varies from
one process and one minute to the next (a noisy neighbour, the allocator's luck, the clock) is
what a rerun of the suite would see, and steps inside one pass cannot show it.

Everything that reads step times from a record (the record builder, the report, ``bench
compare``, the history page) goes through :func:`passes`, so they all agree on which steps
count: warm-up dropped, timing passes preferred over the training pass when there are any.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench import stats

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
        sizes = stats.timed_round_sizes(len(steps), [int(s) for s in sizes], warmup) or []
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


def timing_passes(record: dict[str, Any]) -> list[Rounds]:
    """The timing passes' rounds (passes 1..P), unusable passes left out."""
    out = []
    for p in record.get("timing_passes") or []:
        if not isinstance(p, dict):
            continue
        rounds = split_rounds(p.get("step_times_s"), p.get("round_sizes"), p.get("warmup_steps"))
        if rounds:
            out.append(rounds)
    return out


def passes(record: dict[str, Any]) -> list[Rounds] | None:
    """The passes that measure the cell's speed: the timing passes when the record has any,
    else the training pass alone (older runs, ``--timing-passes 0``, imported benchmarks)."""
    timed = timing_passes(record)
    if timed:
        return timed
    rounds = training_rounds(record)
    return [rounds] if rounds else None
