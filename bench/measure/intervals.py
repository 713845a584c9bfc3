"""Interval estimators: bootstrap medians, order-statistic and log-scale t intervals, and the
serial-correlation test that decides between an i.i.d. and a block bootstrap.

Everything here is a pure function of NumPy arrays: no framework, no I/O, no clock.

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


# --------------------------------------------------------------------------------------------
# bootstrap machinery


def medians_from_counts(sorted_values: np.ndarray, counts: np.ndarray) -> np.ndarray:
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


def counts_from_indices(idx: np.ndarray, n: int) -> np.ndarray:
    """Turn (n_boot, m) drawn indices into (n_boot, n) draw counts, one bincount in all."""
    n_boot = idx.shape[0]
    flat = (idx + (np.arange(n_boot) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n)


def step_indices(n: int, block_length: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Moving-block bootstrap indices: ceil(n/L) random blocks of L consecutive steps, cut to n.

    Blocks keep the short-range correlation between neighbouring steps inside each resample,
    which an i.i.d. draw destroys. ``block_length`` 1 is the ordinary i.i.d. bootstrap.
    """
    length = int(min(max(1, block_length), n))
    n_blocks = -(-n // length)
    starts = rng.integers(0, n - length + 1, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(length)).reshape(n_boot, n_blocks * length)
    return idx[:, :n]


def percentile_interval(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")


def as_samples(x: Any, what: str) -> np.ndarray:
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
    check_confidence(confidence)
    values = as_samples(x, "median_ci")
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
        round_counts = counts_from_indices(drawn, uniq.size)
        counts = round_counts[:, round_of[order]]
        method = f"cluster bootstrap over {uniq.size} rounds"
        length = None
    else:
        length = default_block_length(n) if block_length is None else int(block_length)
        counts = counts_from_indices(step_indices(n, length, n_boot, rng), n)[:, order]
        method = (
            "i.i.d. bootstrap over steps"
            if length <= 1
            else f"moving-block bootstrap over steps (block {length})"
        )
    boot = medians_from_counts(sorted_values, counts)
    lo, hi = percentile_interval(boot, confidence)
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

    check_confidence(confidence)
    xs = np.sort(as_samples(x, "median_ci_order_stat"))
    n = xs.size
    alpha = 1.0 - confidence
    j = int(binom.ppf(alpha / 2, n, 0.5))
    if binom.cdf(j, n, 0.5) > alpha / 2:
        j -= 1
    j = max(j, 0)  # 0-based index of the lower bound: P(B <= j - 1 + 1 - 1) <= alpha / 2
    return float(xs[j]), float(xs[n - 1 - j])


# --------------------------------------------------------------------------------------------
# one cell over several processes: the pass-level interval


def t_quantile(confidence: float, df: float) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, df))


def log_mean_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Geometric mean of positive ``values`` with a Student-t interval on their logs.

    The values are per-pass figures (a median step time, a speed ratio): few of them (3-6),
    each from its own process at its own minute of the run. A bootstrap over so few clusters is
    badly anti-conservative (it cannot produce a resample outside the observed range); the t
    interval with n - 1 degrees of freedom is the textbook answer for a handful of independent
    units, and logs make it a multiplicative (relative) interval. Returns (centre, low, high).
    """
    check_confidence(confidence)
    x = as_samples(values, "log_mean_ci")
    if np.any(x <= 0):
        raise ValueError("log_mean_ci: values must be positive")
    if x.size < 2:
        raise ValueError("log_mean_ci: at least two values are needed for an interval")
    logs = np.log(x)
    centre = float(logs.mean())
    half = t_quantile(confidence, x.size - 1) * float(logs.std(ddof=1)) / math.sqrt(x.size)
    return math.exp(centre), math.exp(centre - half), math.exp(centre + half)


# --------------------------------------------------------------------------------------------
# one cell, two commits: did it regress?


def lag1_autocorrelation(x: np.ndarray) -> float:
    """Lag-1 autocorrelation of the ranks of ``x`` (outliers cannot dominate it); 0 if constant."""
    from scipy.stats import rankdata

    r = rankdata(as_samples(x, "lag1_autocorrelation"))
    r -= r.mean()
    denom = float(np.dot(r, r))
    if r.size < 3 or denom == 0.0:
        return 0.0
    return float(np.dot(r[:-1], r[1:]) / denom)


def block_length_for(x: np.ndarray) -> int:
    """1 (i.i.d.) unless the steps look serially correlated, then about sqrt(n).

    Under independence the lag-1 autocorrelation is about N(0, 1/n); beyond 2.5 standard
    errors we stop trusting independence and resample blocks instead.
    """
    n = x.size
    if n >= 10 and abs(lag1_autocorrelation(x)) > 2.5 / math.sqrt(n):
        return default_block_length(n)
    return 1
