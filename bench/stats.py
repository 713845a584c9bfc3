"""Medians, confidence intervals, speed ratios and the significance of a change.

Everything here is a pure function of NumPy arrays: no framework, no I/O, no clock. The
harness, the report and ``bench compare`` all call these, so one cell's numbers mean the same
thing wherever they are shown.

Why medians and bootstraps: step times are skewed (a garbage collection, a page fault or a
thermal dip makes a step 3x slower, never 3x faster), so the mean moves with a few outliers
while the median does not. The median has no simple standard error, so its interval comes
from a bootstrap. Consecutive steps are *not* independent (clock boost, cache state and
background load drift over seconds), so an i.i.d. bootstrap over steps would claim far more
precision than the run has; we resample whole rounds (clusters of consecutive steps) when
there are enough of them, and blocks of consecutive steps otherwise.

All bootstraps are vectorised: a resample is represented by how many times each step (or
round) was drawn, and its median is read off the once-sorted data with a cumulative sum of
those counts (a weighted median), so 2000 resamples of 300 steps take milliseconds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# Past this many (resample x step) cells, the bootstrap runs in chunks to bound memory.
_CHUNK_CELLS = 2_000_000
# Accuracy differences below half a percentage point are not worth a verdict on their own:
# a 10k-sample test set alone has a binomial standard error of about 0.3-0.5 points.
_ACCURACY_FLOOR = 0.005


# --------------------------------------------------------------------------------------------
# bootstrap machinery


def _medians_from_counts(sorted_values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Median of each resample, given how often each (sorted) value was drawn.

    ``counts`` has shape (n_boot, n) with column j counting draws of ``sorted_values[j]``.
    The pooled resample of row b is ``sorted_values`` repeated ``counts[b]`` times, already in
    order, so its two middle positions are found by a cumulative sum: no per-row sort.
    """
    out = np.empty(counts.shape[0])
    rows = max(1, _CHUNK_CELLS // max(1, counts.shape[1]))
    for start in range(0, counts.shape[0], rows):
        c = np.cumsum(counts[start : start + rows], axis=1)
        total = c[:, -1]
        # Shift each row above the previous one so a single searchsorted serves all rows.
        offset = np.arange(c.shape[0]) * (int(total.max()) + 1)
        flat = (c + offset[:, None]).ravel()
        first = np.arange(c.shape[0]) * c.shape[1]
        j_lo = np.searchsorted(flat, offset + (total - 1) // 2, side="right") - first
        j_hi = np.searchsorted(flat, offset + total // 2, side="right") - first
        out[start : start + rows] = 0.5 * (sorted_values[j_lo] + sorted_values[j_hi])
    return out


def _counts_from_indices(idx: np.ndarray, n: int) -> np.ndarray:
    """Turn (n_boot, m) drawn indices into (n_boot, n) draw counts, one bincount in all."""
    n_boot = idx.shape[0]
    flat = (idx + (np.arange(n_boot) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n)


def _step_indices(n: int, block_length: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Moving-block bootstrap indices: ceil(n/L) random blocks of L consecutive steps, cut to n.

    Blocks keep the short-range correlation between neighbouring steps inside each resample,
    which an i.i.d. draw destroys. ``block_length`` 1 is the ordinary i.i.d. bootstrap.
    """
    length = int(min(max(1, block_length), n))
    n_blocks = -(-n // length)
    starts = rng.integers(0, n - length + 1, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(length)).reshape(n_boot, n_blocks * length)
    return idx[:, :n]


def _percentile_interval(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")


def _as_samples(x: Any, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float).ravel()
    if arr.size == 0:
        raise ValueError(f"{what}: no samples")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what}: contains NaN or infinite values")
    return arr


def default_block_length(n: int) -> int:
    """Block length for the moving-block bootstrap: about sqrt(n).

    sqrt(n) is the usual compromise: long enough to carry correlation that decays over a few
    dozen steps, short enough that a resample still holds many independent-ish blocks.
    """
    return max(1, round(math.sqrt(n)))


def median_ci(
    x: np.ndarray,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    rounds: np.ndarray | None = None,
    block_length: int | None = None,
) -> dict[str, Any]:
    """Median of ``x`` with a percentile-bootstrap confidence interval.

    ``rounds`` (one integer label per sample) selects the cluster bootstrap: whole rounds are
    drawn with replacement and the median of the pooled steps is taken, so between-round
    variation (the part that repeats of a benchmark do not average away) is in the interval.
    Otherwise a moving-block bootstrap with ``block_length`` (default about sqrt(n)) is used;
    ``block_length=1`` is the i.i.d. bootstrap, honest only for independent samples.

    Returns {"median", "ci_low", "ci_high", "method", "block_length"}.
    """
    _check_confidence(confidence)
    values = _as_samples(x, "median_ci")
    rng = np.random.default_rng(seed)
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    n = values.size
    if rounds is not None:
        labels = np.asarray(rounds).ravel()
        if labels.size != n:
            raise ValueError("median_ci: one round label per sample is required")
        uniq, round_of = np.unique(labels, return_inverse=True)
        drawn = rng.integers(0, uniq.size, size=(n_boot, uniq.size))
        round_counts = _counts_from_indices(drawn, uniq.size)
        counts = round_counts[:, round_of[order]]
        method = f"cluster bootstrap over {uniq.size} rounds"
        length = None
    else:
        length = default_block_length(n) if block_length is None else int(block_length)
        counts = _counts_from_indices(_step_indices(n, length, n_boot, rng), n)[:, order]
        method = (
            "i.i.d. bootstrap over steps"
            if length <= 1
            else f"moving-block bootstrap over steps (block {length})"
        )
    boot = _medians_from_counts(sorted_values, counts)
    lo, hi = _percentile_interval(boot, confidence)
    return {
        "median": float(np.median(values)),
        "ci_low": lo,
        "ci_high": hi,
        "method": method,
        "block_length": length,
    }


def median_ci_order_stat(x: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free CI for the median of independent samples, from order statistics.

    The number of samples below the true median is Binomial(n, 1/2) whatever the distribution,
    so [x_(k), x_(n+1-k)] covers it with probability at least ``confidence`` for the largest
    such k. Exact and assumption-light, but only for independent samples: it is the yardstick
    the bootstraps are checked against. With too few samples to reach ``confidence`` it
    returns (min, max), whose coverage 1 - 2^(1-n) is then below the level asked for.
    """
    from scipy.stats import binom

    _check_confidence(confidence)
    xs = np.sort(_as_samples(x, "median_ci_order_stat"))
    n = xs.size
    alpha = 1.0 - confidence
    j = int(binom.ppf(alpha / 2, n, 0.5))
    if binom.cdf(j, n, 0.5) > alpha / 2:
        j -= 1
    j = max(j, 0)  # 0-based index of the lower bound: P(B <= j - 1 + 1 - 1) <= alpha / 2
    return float(xs[j]), float(xs[n - 1 - j])


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
    ms = _as_samples(step_seconds, "latency_summary") * 1e3
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
    steps = _as_samples(step_seconds, "summarize_steps")
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


# --------------------------------------------------------------------------------------------
# one cell over several processes: the pass-level interval


def _t_quantile(confidence: float, df: float) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, df))


def pass_medians(passes: list[list[np.ndarray]]) -> np.ndarray:
    """Median step time of each pass, its rounds pooled."""
    return np.array([float(np.median(np.concatenate(p))) for p in passes])


def log_mean_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Geometric mean of positive ``values`` with a Student-t interval on their logs.

    The values are per-pass figures (a median step time, a speed ratio): few of them (3-6),
    each from its own process at its own minute of the run. A bootstrap over so few clusters is
    badly anti-conservative (it cannot produce a resample outside the observed range); the t
    interval with n - 1 degrees of freedom is the textbook answer for a handful of independent
    units, and logs make it a multiplicative (relative) interval. Returns (centre, low, high).
    """
    _check_confidence(confidence)
    x = _as_samples(values, "log_mean_ci")
    if np.any(x <= 0):
        raise ValueError("log_mean_ci: values must be positive")
    if x.size < 2:
        raise ValueError("log_mean_ci: at least two values are needed for an interval")
    logs = np.log(x)
    centre = float(logs.mean())
    half = _t_quantile(confidence, x.size - 1) * float(logs.std(ddof=1)) / math.sqrt(x.size)
    return math.exp(centre), math.exp(centre - half), math.exp(centre + half)


def summarize_passes(
    passes: list[list[np.ndarray]],
    batch_size: int,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    target_relative_half_width: float = 0.02,
) -> dict[str, Any]:
    """Throughput and latency of one cell timed in several passes (one process each).

    Each pass gives one median step time (its rounds pooled); the cell's median is their
    geometric mean and its interval a t interval over passes (:func:`log_mean_ci`). That
    interval carries what one process cannot show: the machine of two minutes later and another
    process's allocator and thread placement. Measured on a shared 2-core VM, intervals built
    from the steps of one process were 2-4 % wide while back-to-back runs differed by 16-73 %.

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

    In pass k the two frameworks' rounds were interleaved, so each pass yields one ratio in
    which the machine's drift cancels; the passes' ratios get a t interval
    (:func:`log_mean_ci`). With one pass only, :func:`ratio_ci` over its paired rounds.
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
    arrays = [_as_samples(r, f"{what} round {i}") for i, r in enumerate(rounds)]
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
    _check_confidence(confidence)
    n_pairs = min(len(a_rounds), len(b_rounds))
    if n_pairs == 0:
        raise ValueError("ratio_ci: both frameworks need at least one round")
    a_sorted, a_label = _pooled(list(a_rounds)[:n_pairs], "A")
    b_sorted, b_label = _pooled(list(b_rounds)[:n_pairs], "B")
    rng = np.random.default_rng(seed)
    drawn_a = rng.integers(0, n_pairs, size=(n_boot, n_pairs))
    drawn_b = drawn_a if paired else rng.integers(0, n_pairs, size=(n_boot, n_pairs))
    counts_a = _counts_from_indices(drawn_a, n_pairs)
    counts_b = counts_a if paired else _counts_from_indices(drawn_b, n_pairs)
    med_a = _medians_from_counts(a_sorted, counts_a[:, a_label])
    med_b = _medians_from_counts(b_sorted, counts_b[:, b_label])
    lo, hi = _percentile_interval(med_b / med_a, confidence)
    kind = "paired" if paired else "unpaired"
    return {
        "ratio": float(np.median(b_sorted) / np.median(a_sorted)),
        "ci_low": lo,
        "ci_high": hi,
        "ci_level": confidence,
        "n_pairs": n_pairs,
        "method": f"{kind} cluster bootstrap over {n_pairs} rounds",
    }


# --------------------------------------------------------------------------------------------
# one cell, two commits: did it regress?


def lag1_autocorrelation(x: np.ndarray) -> float:
    """Lag-1 autocorrelation of the ranks of ``x`` (outliers cannot dominate it); 0 if constant."""
    from scipy.stats import rankdata

    r = rankdata(_as_samples(x, "lag1_autocorrelation"))
    r -= r.mean()
    denom = float(np.dot(r, r))
    if r.size < 3 or denom == 0.0:
        return 0.0
    return float(np.dot(r[:-1], r[1:]) / denom)


def _block_length_for(x: np.ndarray) -> int:
    """1 (i.i.d.) unless the steps look serially correlated, then about sqrt(n).

    Under independence the lag-1 autocorrelation is about N(0, 1/n); beyond 2.5 standard
    errors we stop trusting independence and resample blocks instead.
    """
    n = x.size
    if n >= 10 and abs(lag1_autocorrelation(x)) > 2.5 / math.sqrt(n):
        return default_block_length(n)
    return 1


def compare_samples(
    base: np.ndarray,
    current: np.ndarray,
    threshold: float = 0.05,
    alpha: float = 0.05,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    higher_is_better: bool = False,
) -> dict[str, Any]:
    """Relative change of the median from ``base`` to ``current``, and whether it matters.

    A change is reported only when three things agree (as asv pairs ``is_different`` with a
    ratio factor): it is larger than ``threshold`` (big enough to care about), the two-sided
    Mann-Whitney U test rejects equal distributions at ``alpha``, and the bootstrap interval of
    the change excludes 0. Mann-Whitney alone is anti-conservative on serially correlated
    steps; the interval alone ignores the shape of the distributions; together they rarely
    cry wolf.

    The interval resamples each side independently. Each side's lag-1 autocorrelation decides
    how: i.i.d. if it is within noise, moving blocks of about sqrt(n) steps if not.

    By default the samples are step times (lower is better): change > 0 is "slower". With
    ``higher_is_better`` (throughputs) a rise is "faster" and a fall "slower".
    Returns {"change", "ci_low", "ci_high", "p_value", "verdict", "n_base", "n_current",
    "method"}.
    """
    from scipy.stats import mannwhitneyu

    _check_confidence(confidence)
    b = _as_samples(base, "compare_samples base")
    c = _as_samples(current, "compare_samples current")
    b_med, c_med = float(np.median(b)), float(np.median(c))
    if b_med <= 0:
        raise ValueError("compare_samples: the base median must be positive")
    change = c_med / b_med - 1.0
    rng = np.random.default_rng(seed)
    parts = []
    lengths = []
    for x in (b, c):
        length = _block_length_for(x)
        lengths.append(length)
        order = np.argsort(x, kind="stable")
        counts = _counts_from_indices(_step_indices(x.size, length, n_boot, rng), x.size)
        parts.append(_medians_from_counts(x[order], counts[:, order]))
    boot_b, boot_c = parts
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = boot_c / boot_b - 1.0
    lo, hi = _percentile_interval(boot, confidence)
    if np.all(b == b[0]) and np.all(c == c[0]):
        p_value = 1.0 if b[0] == c[0] else 0.0
    else:
        p_value = float(mannwhitneyu(c, b, alternative="two-sided").pvalue)
    verdict = change_verdict(change, lo, hi, p_value, threshold, alpha, higher_is_better)
    how = ", ".join("i.i.d." if n <= 1 else f"block {n}" for n in lengths)
    return {
        "change": change,
        "ci_low": lo,
        "ci_high": hi,
        "p_value": p_value,
        "verdict": verdict,
        "n_base": int(b.size),
        "n_current": int(c.size),
        "method": f"bootstrap of median ratio (base, current: {how}) + Mann-Whitney U",
    }


def change_verdict(
    change: float,
    ci_low: float,
    ci_high: float,
    p_value: float,
    threshold: float = 0.05,
    alpha: float = 0.05,
    higher_is_better: bool = False,
) -> str:
    """ "slower", "faster" or "unchanged": beyond ``threshold``, significant at ``alpha`` and an
    interval that excludes 0, all three. ``change`` > 0 is a rise of the measured quantity."""
    significant = p_value < alpha
    if significant and change > threshold and ci_low > 0:
        return "faster" if higher_is_better else "slower"
    if significant and change < -threshold and ci_high < 0:
        return "slower" if higher_is_better else "faster"
    return "unchanged"


def compare_passes(
    base: list[list[np.ndarray]],
    current: list[list[np.ndarray]],
    threshold: float = 0.05,
    alpha: float = 0.05,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    offset: float = 0.0,
) -> dict[str, Any]:
    """Relative change of one cell's step time between two runs, each timed in passes.

    With at least two passes on each side the unit of evidence is the pass (one process, one
    minute of the run): Welch's t test on the log median step time of each pass, and the
    matching interval for the ratio of geometric means. Steps inside one pass are not
    independent evidence about the next run: on a shared machine, tests on raw step times
    (thousands of them) called every cell of ten same-code comparisons significant. With one
    pass on either side (older runs, imported benchmarks) this falls back to
    :func:`compare_samples` on the pooled steps. Same return shape as that function.

    ``offset`` (natural log of a step-time ratio) is taken off the current run before judging:
    the run-wide drift of the machine (:func:`machine_drift`), so the change reported is the
    cell's change relative to every other cell of the comparison.
    """
    from scipy.stats import ttest_ind

    if not base or not current:
        raise ValueError("compare_passes: both sides need at least one pass")
    scale = math.exp(-offset)
    if len(base) < 2 or len(current) < 2:
        b = np.concatenate([r for p in base for r in p])
        c = np.concatenate([r for p in current for r in p]) * scale
        return compare_samples(b, c, threshold, alpha, confidence, n_boot, seed)
    _check_confidence(confidence)
    x, y = np.log(pass_medians(base)), np.log(pass_medians(current)) - offset
    diff = float(y.mean() - x.mean())
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(vx + vy)
    if se == 0.0:
        p_value = 1.0 if diff == 0.0 else 0.0
        lo = hi = diff
    else:
        df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1)) if vx + vy else 1.0
        half = _t_quantile(confidence, df) * se
        lo, hi = diff - half, diff + half
        p_value = float(ttest_ind(y, x, equal_var=False).pvalue)
    change, ci_low, ci_high = math.expm1(diff), math.expm1(lo), math.expm1(hi)
    return {
        "change": change,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "p_value": p_value,
        "verdict": change_verdict(change, ci_low, ci_high, p_value, threshold, alpha),
        "n_base": int(x.size),
        "n_current": int(y.size),
        "method": f"Welch t on log median step time of {x.size} vs {y.size} passes",
    }


def log_change(base: list[list[np.ndarray]], current: list[list[np.ndarray]]) -> float:
    """Natural log of the step-time ratio current/base: geometric means of the pass medians."""
    return float(np.log(pass_medians(current)).mean() - np.log(pass_medians(base)).mean())


def machine_drift(log_changes: list[float], min_cells: int = 6) -> float:
    """The run-wide change shared by the cells of a comparison: the median of their log changes.

    Measured on a shared 2-core VM, the whole machine ran 5-26 % slower or faster from one
    quick-suite run to another a few minutes later, every framework and model together; judged
    cell by cell, that drift made same-code comparisons report regressions of 33-37 %. The median
    over cells follows such a shared move and ignores a real change confined to fewer than half
    of them (one framework, one model). 0 when there are fewer than ``min_cells`` cells.
    """
    if len(log_changes) < min_cells:
        return 0.0
    return float(np.median(log_changes))


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (family-wise error control, any dependence).

    ``bench compare`` judges a dozen or more cells at once; at 5 % each, some cell of a
    same-code comparison would be "significant" most of the time. Holm keeps the chance of
    any false alarm in the whole comparison at ``alpha``, and is uniformly more powerful than
    plain Bonferroni.
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return [float(v) for v in adjusted]


def accuracy_verdict(
    base_acc: float, current_acc: float, seed_spread: float | None, k: float = 2.0
) -> str:
    """ "worse", "better" or "unchanged": an accuracy change judged against seed-to-seed noise.

    Accuracies are fractions in [0, 1]. Training the same recipe with another seed moves test
    accuracy by ``seed_spread`` (a standard deviation across seeds) on its own, so only a move
    beyond ``k`` times that is a change. The margin never drops below half a percentage point,
    which also covers an unknown (None/NaN) or zero spread from a single seed.
    """
    for name, value in (("base_acc", base_acc), ("current_acc", current_acc)):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"{name} must be a fraction in [0, 1], got {value}")
    spread = 0.0
    if seed_spread is not None and math.isfinite(seed_spread):
        spread = abs(float(seed_spread))
    margin = max(k * spread, _ACCURACY_FLOOR)
    delta = current_acc - base_acc
    if delta < -margin:
        return "worse"
    if delta > margin:
        return "better"
    return "unchanged"


# --------------------------------------------------------------------------------------------
# a history of commits: where did it step?


def noise_sigma(values: np.ndarray) -> float:
    """Robust noise level of a series that may contain steps: MAD of successive differences.

    A step changes one difference out of n-1, so the median barely moves; differences of two
    independent N(0, s^2) points are N(0, 2 s^2), whose median absolute value is 0.6745 sqrt(2) s.
    """
    x = _as_samples(values, "noise_sigma")
    if x.size < 2:
        return 0.0
    return float(np.median(np.abs(np.diff(x))) / (0.6744897501960817 * math.sqrt(2.0)))


def change_points(values: np.ndarray, min_size: int = 2, penalty: float | None = None) -> list[int]:
    """Indices where a new level starts in a history series (e.g. median throughput per commit).

    Optimal partitioning by dynamic programming: the segmentation minimising the within-segment
    sum of squared deviations plus ``penalty`` per segment, every segment at least ``min_size``
    long (so one odd commit is not a "step"). It is exact, unlike binary segmentation, and
    O(n^2), fine for histories of a few thousand commits. The default penalty is
    4 sigma^2 log(n), sigma from :func:`noise_sigma`: a BIC-like price that grows slowly with
    the length of the history, so pure noise rarely yields change points (2 % of 60-point
    Gaussian series). Squared error is not robust: one wild value (a broken run) far outside
    the noise gets a short segment of its own (``min_size`` long) and shows as two change
    points; drop failed runs before calling this.
    """
    x = _as_samples(values, "change_points")
    n = x.size
    min_size = max(1, int(min_size))
    if n < 2 * min_size:
        return []
    if penalty is None:
        sigma = noise_sigma(x)
        scale = float(np.mean((x - x.mean()) ** 2))
        penalty = max(4.0 * sigma**2 * math.log(n), 1e-12 * (1.0 + scale))
    s1 = np.concatenate([[0.0], np.cumsum(x - x.mean())])
    s2 = np.concatenate([[0.0], np.cumsum((x - x.mean()) ** 2)])
    best = np.full(n + 1, np.inf)
    best[0] = -penalty
    prev = np.zeros(n + 1, dtype=int)
    for t in range(min_size, n + 1):
        starts = np.arange(0, t - min_size + 1)
        starts = starts[(starts == 0) | (starts >= min_size)]
        length = t - starts
        sse = (s2[t] - s2[starts]) - (s1[t] - s1[starts]) ** 2 / length
        total = best[starts] + sse + penalty
        k = int(np.argmin(total))
        best[t] = total[k]
        prev[t] = starts[k]
    out = []
    t = n
    while t > 0:
        t = int(prev[t])
        if t > 0:
            out.append(t)
    return sorted(out)
