"""Where a history series steps: the change points of a cell's figure over commits, found on
the history page (:mod:`bench.track.page_data`). Pure functions of NumPy arrays."""

from __future__ import annotations

import math

import numpy as np

from bench.measure.intervals import as_samples


def noise_sigma(values: np.ndarray) -> float:
    """Robust noise level of a series that may contain steps: MAD of successive differences.

    A step changes one difference out of n-1, so the median barely moves; differences of two
    independent N(0, s^2) points are N(0, 2 s^2), whose median absolute value is 0.6745 sqrt(2) s.
    """
    x = as_samples(values, "noise_sigma")
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
    x = as_samples(values, "change_points")
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
