"""One cell's figures from its timed steps and passes: throughput and latency of a cell, the
pass-level interval over fresh processes, and the paired speed ratio of two frameworks.

Pure functions of NumPy arrays. The harness, the report and ``bench compare`` all call these, so
one cell's numbers mean the same thing wherever they are shown; the intervals come from
:mod:`bench.measure.intervals`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.measure.intervals import (
    as_samples,
    check_confidence,
    counts_from_indices,
    log_mean_ci,
    median_ci,
    medians_from_counts,
    percentile_interval,
)

# --------------------------------------------------------------------------------------------
# one cell: throughput and latency


def timed_round_sizes(n_total: int, round_sizes: list[int] | None, warmup: int) -> list[int] | None:
    """Round sizes of the timed steps only, warm-up taken off the first rounds.

    ``round_sizes`` may cover every step (warm-up included, as ``step_times_s`` does) or only
    the timed steps; both are accepted because the sums tell them apart. Rounds emptied by the
    warm-up are dropped.
    """
    if round_sizes is None:
        return None
    sizes = [int(s) for s in round_sizes]
    if any(s < 0 for s in sizes):
        raise ValueError("round_sizes must not be negative")
    total = sum(sizes)
    if total == n_total - warmup:
        return [s for s in sizes if s > 0]
    if total != n_total:
        raise ValueError(
            f"round_sizes sum to {total}, but there are {n_total} steps "
            f"({n_total - warmup} after {warmup} warm-up)"
        )
    left = warmup
    out = []
    for s in sizes:
        cut = min(left, s)
        left -= cut
        if s - cut > 0:
            out.append(s - cut)
    return out


def latency_summary(step_seconds: np.ndarray) -> dict[str, Any]:
    """Step latency in milliseconds: p50/p90/p99, mean, min, max and Tukey outliers.

    Tail percentiles are reported because a framework whose median is fast but whose p99 is
    three times slower (recompilation, allocator growth) is not fast in practice. Outliers
    are counted, not removed: Tukey fences at 1.5 IQR beyond the quartiles, both sides.
    """
    ms = as_samples(step_seconds, "latency_summary") * 1e3
    p25, p50, p75, p90, p99 = np.percentile(ms, [25, 50, 75, 90, 99])
    iqr = p75 - p25
    outliers = int(np.count_nonzero((ms < p25 - 1.5 * iqr) | (ms > p75 + 1.5 * iqr)))
    return {
        "p50": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "mean": float(ms.mean()),
        "min": float(ms.min()),
        "max": float(ms.max()),
        "n_outliers": outliers,
    }


def summarize_steps(
    step_seconds: np.ndarray,
    batch_size: int,
    round_sizes: list[int] | None,
    warmup: int,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    target_relative_half_width: float = 0.02,
) -> dict[str, Any]:
    """Throughput (samples/s) and step latency (ms) of one cell, warm-up excluded.

    ``step_seconds`` holds every step in order, the first ``warmup`` of which (tracing,
    compilation, allocator growth) are dropped. ``round_sizes`` gives the clusters of
    consecutive steps the runner interleaved with other frameworks; with at least 5 timed
    rounds the median's interval comes from a cluster bootstrap over rounds, since what varies
    between rounds (machine drift, frequency scaling) is exactly what a repeat would see.
    With fewer rounds a cluster bootstrap would be too coarse, so a moving-block bootstrap over
    steps (block about sqrt(n)) is used instead. ``"method"`` names which.

    Returns ``{"throughput": {...}, "step_latency_ms": {...}, "step_time_s": {...}}``; the
    first two have the fields of the result record, ``"converged"`` being whether the relative
    half-width reached ``target_relative_half_width``. ``"step_time_s"`` is the median step
    time with its interval (the same interval, before the 1/x transform).
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if warmup < 0:
        raise ValueError(f"warmup must not be negative, got {warmup}")
    steps = as_samples(step_seconds, "summarize_steps")
    if np.any(steps <= 0):
        raise ValueError("summarize_steps: step times must be positive")
    if warmup >= steps.size:
        raise ValueError(f"summarize_steps: {steps.size} steps leave none after {warmup} warm-up")
    sizes = timed_round_sizes(steps.size, round_sizes, warmup)
    timed = steps[warmup:]
    rounds = None
    if sizes is not None and len(sizes) >= 5:
        rounds = np.repeat(np.arange(len(sizes)), sizes)
    ci = median_ci(timed, confidence=confidence, n_boot=n_boot, seed=seed, rounds=rounds)
    step_time = {"median": ci["median"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"]}
    counts = {"n_steps": int(timed.size), "n_rounds": len(sizes) if sizes is not None else 1}
    return {
        "throughput": _throughput(
            step_time, batch_size, confidence, target_relative_half_width, counts, ci["method"]
        ),
        "step_latency_ms": latency_summary(timed),
        "step_time_s": step_time,
    }


def _throughput(
    step_time: dict[str, float],
    batch_size: int,
    confidence: float,
    target: float,
    counts: dict[str, Any],
    method: str,
) -> dict[str, Any]:
    """The record's throughput fields from a median step time and its interval (seconds)."""
    median = batch_size / step_time["median"]
    lo, hi = batch_size / step_time["ci_high"], batch_size / step_time["ci_low"]
    half = (hi - lo) / 2 / median
    return {
        "median": float(median),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "ci_level": confidence,
        "unit": "samples/s",
        **counts,
        "method": method,
        "converged": bool(half <= target),
        "relative_half_width": float(half),
    }


def pass_medians(passes: list[list[np.ndarray]]) -> np.ndarray:
    """Median step time of each pass, its rounds pooled."""
    return np.array([float(np.median(np.concatenate(p))) for p in passes])


def summarize_passes(
    passes: list[list[np.ndarray]],
    batch_size: int,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    target_relative_half_width: float = 0.02,
) -> dict[str, Any]:
    """Throughput and latency of one cell timed in several passes (one process each).

    Each pass gives one median step time (its rounds pooled); the cell's median is their geometric
    mean and its interval a t interval over passes (:func:`bench.measure.intervals.log_mean_ci`).
    That interval carries what one process cannot show: the machine of two minutes later and another
    process's allocator and thread placement. Measured on a shared 2-core VM, intervals built from
    the steps of one process were 2-4 % wide while back-to-back runs differed by 16-73 %.

    With a single pass this is :func:`summarize_steps` on its rounds (cluster bootstrap).
    Latency percentiles are over every timed step of every pass.
    """
    if not passes or not all(passes):
        raise ValueError("summarize_passes: every pass needs at least one round")
    rounds = [r for p in passes for r in p]
    steps = np.concatenate(rounds)
    if len(passes) == 1:
        return summarize_steps(steps, batch_size, [r.size for r in rounds], 0, confidence,
                               n_boot, seed, target_relative_half_width)  # fmt: skip
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    medians = pass_medians(passes)
    centre, lo, hi = log_mean_ci(medians, confidence)
    step_time = {"median": centre, "ci_low": lo, "ci_high": hi}
    counts = {
        "n_steps": int(steps.size),
        "n_rounds": len(rounds),
        "n_passes": len(passes),
        "pass_medians": [float(batch_size / m) for m in medians],
    }
    method = f"t interval over {len(passes)} timing passes (median step time of each)"
    return {
        "throughput": _throughput(
            step_time, batch_size, confidence, target_relative_half_width, counts, method
        ),
        "step_latency_ms": latency_summary(steps),
        "step_time_s": step_time,
    }


def speed_ratio(
    a_passes: list[list[np.ndarray]],
    b_passes: list[list[np.ndarray]],
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """How many times faster A trains than B, over paired passes (or paired rounds of one).

    In pass k the two frameworks ran one after the other (a contiguous stretch each), so each
    pass yields one ratio in which the machine's drift between passes cancels; the passes'
    ratios get a t interval (:func:`bench.measure.intervals.log_mean_ci`). With one pass only,
    :func:`ratio_ci` over its paired rounds.
    """
    n = min(len(a_passes), len(b_passes))
    if n == 0:
        raise ValueError("speed_ratio: both frameworks need at least one pass")
    if n == 1:
        return ratio_ci(a_passes[0], b_passes[0], confidence, n_boot, seed)
    ratios = [
        float(np.median(np.concatenate(b)) / np.median(np.concatenate(a)))
        for a, b in zip(a_passes[:n], b_passes[:n], strict=True)
    ]
    ratio, lo, hi = log_mean_ci(np.array(ratios), confidence)
    return {
        "ratio": ratio,
        "ci_low": lo,
        "ci_high": hi,
        "ci_level": confidence,
        "n_pairs": n,
        "method": f"t interval over {n} paired timing passes",
    }


# --------------------------------------------------------------------------------------------
# two frameworks on one machine: the speed ratio


def _pooled(rounds: list[np.ndarray], what: str) -> tuple[np.ndarray, np.ndarray]:
    arrays = [as_samples(r, f"{what} round {i}") for i, r in enumerate(rounds)]
    values = np.concatenate(arrays)
    labels = np.repeat(np.arange(len(arrays)), [a.size for a in arrays])
    order = np.argsort(values, kind="stable")
    return values[order], labels[order]


def ratio_ci(
    a_rounds: list[np.ndarray],
    b_rounds: list[np.ndarray],
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    paired: bool = True,
) -> dict[str, Any]:
    """How many times faster A trains than B, with a paired cluster-bootstrap interval.

    ratio = throughput A / throughput B = median step time B / median step time A, each median
    over the steps of the paired rounds pooled. Round i of A ran right before or after round
    i of B, so whatever slowed the machine during round i slowed both. Drawing the same round
    indices for A and B in every resample keeps that shared drift in numerator and denominator
    alike, where it cancels; independent draws (``paired=False``, kept for comparison) would
    let it widen the interval. With unequal round counts the first min(n_a, n_b) are paired.
    """
    check_confidence(confidence)
    n_pairs = min(len(a_rounds), len(b_rounds))
    if n_pairs == 0:
        raise ValueError("ratio_ci: both frameworks need at least one round")
    a_sorted, a_label = _pooled(list(a_rounds)[:n_pairs], "A")
    b_sorted, b_label = _pooled(list(b_rounds)[:n_pairs], "B")
    rng = np.random.default_rng(seed)
    drawn_a = rng.integers(0, n_pairs, size=(n_boot, n_pairs))
    drawn_b = drawn_a if paired else rng.integers(0, n_pairs, size=(n_boot, n_pairs))
    counts_a = counts_from_indices(drawn_a, n_pairs)
    counts_b = counts_a if paired else counts_from_indices(drawn_b, n_pairs)
    med_a = medians_from_counts(a_sorted, counts_a[:, a_label])
    med_b = medians_from_counts(b_sorted, counts_b[:, b_label])
    lo, hi = percentile_interval(med_b / med_a, confidence)
    kind = "paired" if paired else "unpaired"
    return {
        "ratio": float(np.median(b_sorted) / np.median(a_sorted)),
        "ci_low": lo,
        "ci_high": hi,
        "ci_level": confidence,
        "n_pairs": n_pairs,
        "method": f"{kind} cluster bootstrap over {n_pairs} rounds",
    }
