"""Where a step's time goes: fixed per-step cost against per-sample cost, fitted over a sweep.

A training step at batch B costs ``a + c·B``: ``a`` is what the framework pays per step whatever
the batch (Python, op dispatch, graph launch, optimizer bookkeeping), ``c`` what its kernels pay
per sample. Over a sequence-length sweep the step is ``a + b·T + c·T²`` (attention's T² term).

Each point of the sweep is timed in several fresh-worker passes, one step-time figure each (the
pass's median window step, :func:`bench.measure.summaries.pass_medians`). The fit is weighted
least squares on the points' pass means, weighted by the inverse of their standard errors
squared (the passes' relative spread, pooled over the points, so a 1 ms step and a 100 ms step
weigh by their own scale), and its 95 % intervals come from resampling passes: each bootstrap
replicate redraws every point's passes with replacement (their spread corrected for the
shrinkage of resampling few values) and refits, so the intervals carry the between-process
spread, the one that matters (docs/measurement.md). Where the points scatter about the line
more than their passes explain, the intervals widen by the square root of the reduced chi².

A line does not hold everywhere: caches overflow, a thread pool starts to pay off, memory
bandwidth saturates. :func:`linear_range` trims end points whose residual is more than
:data:`Z_OFF_LINE` standard errors (plus :data:`MODEL_TOLERANCE` of the step time) off the line,
one end at a time, and says which way the dropped points bend. The prediction interval of a
new point (:meth:`Fit.predict`) is what the held-out check (tests, docs/sweeps.md) tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

#: A point is off the line when its residual exceeds this many of its combined errors.
Z_OFF_LINE = 3.0
#: The line's own tolerance, relative to the step time, added to every point's error: below
#: this a bend is not worth a word (a 2-core VM's passes differ by several per cent).
MODEL_TOLERANCE = 0.03
#: Fewer points than this and no line is trimmed further (two points always fit a line).
MIN_POINTS = 3


@dataclass
class Fit:
    """A weighted least-squares fit of step seconds on ``terms`` of x, with bootstrap intervals."""

    terms: tuple[str, ...]  # "1", "x", "x2"
    x: np.ndarray
    y: np.ndarray  # the points' mean step seconds
    se: np.ndarray  # their standard errors (over passes)
    coef: np.ndarray
    boot: np.ndarray  # (n_boot, len(terms)) refits on resampled passes
    confidence: float = 0.95
    notes: list[str] = field(default_factory=list)

    def design(self, x: Any) -> np.ndarray:
        x = np.atleast_1d(np.asarray(x, dtype=float))
        cols = {"1": np.ones_like(x), "x": x, "x2": x * x}
        return np.column_stack([cols[t] for t in self.terms])

    def interval(self, i: int) -> tuple[float, float]:
        alpha = (1 - self.confidence) / 2
        lo, hi = np.quantile(self.boot[:, i], [alpha, 1 - alpha])
        return float(lo), float(hi)

    @property
    def predicted(self) -> np.ndarray:
        return self.design(self.x) @ self.coef

    @property
    def residuals(self) -> np.ndarray:
        """Relative residuals (measured / fitted - 1) of the fitted points."""
        return self.y / self.predicted - 1.0

    @property
    def scatter(self) -> float:
        """Relative scatter of the points about the fit beyond their own standard errors
        (0 when the errors explain it): the line's lack of fit, part of a prediction."""
        dof = len(self.x) - len(self.terms)
        if dof <= 0:
            return 0.0
        excess = self.residuals**2 - (self.se / self.y) ** 2
        return float(np.sqrt(max(excess.sum() / dof, 0.0)))

    def predict(self, x: float) -> tuple[float, float, float]:
        """(prediction, low, high): the 95 % prediction interval of a new point at ``x`` timed
        like the others, from the fit's bootstrap spread, its lack of fit and a new point's own
        noise (the median relative standard error of the fitted points)."""
        centre = float((self.design(x) @ self.coef)[0])
        fit_sd = float(np.std(self.boot @ self.design(x)[0], ddof=1))
        new_rel = float(np.median(self.se / self.y))
        sd = np.sqrt(fit_sd**2 + (centre * self.scatter) ** 2 + (centre * new_rel) ** 2)
        dof = max(len(self.x) - len(self.terms), 1)
        half = float(stats.t.ppf(0.5 + self.confidence / 2, dof)) * sd
        return centre, centre - half, centre + half


def point_stats(passes: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Each point's mean step seconds over its passes and its standard error.

    The passes' relative spread is pooled over the points (its degrees of freedom summed: 16
    from 8 points of 3 passes, where one point's 3 passes give 2): a weight from one point's own
    3 passes is itself so noisy that the fit would chase the points that happened to agree.
    Without any point of two passes the spread is :data:`MODEL_TOLERANCE`."""
    y = np.array([float(np.mean(p)) for p in passes])
    n = np.array([len(p) for p in passes], dtype=float)
    dof = np.maximum(n - 1, 0)
    rel_var = np.array([float(np.var(np.asarray(p) / m, ddof=1)) if len(p) > 1 else 0.0
                        for p, m in zip(passes, y, strict=True)])  # fmt: skip
    pooled = float(np.sqrt((dof * rel_var).sum() / dof.sum())) if dof.sum() else MODEL_TOLERANCE
    return y, np.maximum(pooled, 1e-3) * y / np.sqrt(n)


def _solve(terms: tuple[str, ...], x: np.ndarray, y: np.ndarray, se: np.ndarray) -> np.ndarray:
    cols = {"1": np.ones_like(x), "x": x, "x2": x * x}
    design = np.column_stack([cols[t] for t in terms])
    w = 1.0 / se
    coef, *_ = np.linalg.lstsq(design * w[:, None], y * w, rcond=None)
    return coef


def fit(
    x: Sequence[float],
    passes: Sequence[Sequence[float]],
    terms: tuple[str, ...] = ("1", "x"),
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Fit:
    """Fit step seconds (one list of pass figures per point) on ``terms`` of ``x``."""
    xs = np.asarray(x, dtype=float)
    if len(xs) < len(terms):
        raise ValueError(f"a fit of {len(terms)} terms needs {len(terms)} points, got {len(xs)}")
    y, se = point_stats(passes)
    coef = _solve(terms, xs, y, se)
    rng = np.random.default_rng(seed)
    arrays = [_inflated(np.asarray(p, dtype=float)) for p in passes]
    yb = np.column_stack(
        [p[rng.integers(0, len(p), (n_boot, len(p)))].mean(axis=1) for p in arrays]
    )  # (n_boot, points): every replicate's point means
    cols = {"1": np.ones_like(xs), "x": xs, "x2": xs * xs}
    weighted = np.column_stack([cols[t] for t in terms]) / se[:, None]
    boot = (np.linalg.pinv(weighted) @ (yb / se).T).T  # the weights stay the data's
    f = Fit(terms, xs, y, se, coef, boot, confidence)
    dof = len(xs) - len(terms)
    if dof > 0:  # the points scatter more than their passes say: widen by that much
        chi2 = float((((y - f.predicted) / se) ** 2).sum() / dof)
        f.boot = coef + (boot - coef) * np.sqrt(max(chi2, 1.0))
    return f


def _inflated(p: np.ndarray) -> np.ndarray:
    """A point's passes spread by sqrt(n / (n - 1)) about their mean: resampling n values with
    replacement shrinks their mean's variance by (n - 1) / n (a third with 3 passes), which
    this undoes."""
    if len(p) < 2:
        return p
    return p.mean() + (p - p.mean()) * np.sqrt(len(p) / (len(p) - 1))


def linear_range(
    x: Sequence[float], passes: Sequence[Sequence[float]], n_boot: int = 2000, seed: int = 0
) -> tuple[Fit, list[dict[str, Any]]]:
    """The line ``a + c·B`` over the widest run of batch sizes it holds on, and the points left
    out (each: batch, measured/line - 1 and which end). The worst end point goes while any
    point is off the line (:data:`Z_OFF_LINE`), down to :data:`MIN_POINTS`."""
    xs = list(map(float, x))
    kept = list(range(len(xs)))
    dropped: list[dict[str, Any]] = []
    while True:
        f = fit([xs[i] for i in kept], [passes[i] for i in kept], n_boot=n_boot, seed=seed)
        z = _z(f)
        if len(kept) <= MIN_POINTS or np.max(np.abs(z)) <= Z_OFF_LINE:
            break
        end = 0 if abs(z[0]) > abs(z[-1]) else -1
        i = kept.pop(end)
        dropped.append({"x": xs[i], "end": "low" if end == 0 else "high"})
    final = fit([xs[i] for i in kept], [passes[i] for i in kept], n_boot=n_boot, seed=seed)
    for d in dropped:  # how far each left-out point is from the line that holds
        y, _ = point_stats([passes[xs.index(d["x"])]])
        d["off_line"] = float(y[0] / (final.design(d["x"]) @ final.coef)[0] - 1.0)
    return final, sorted(dropped, key=lambda d: d["x"])


def _z(f: Fit) -> np.ndarray:
    pred = f.predicted
    return (f.y - pred) / np.sqrt(f.se**2 + (MODEL_TOLERANCE * pred) ** 2)


def bend_words(dropped: list[dict[str, Any]], unit: str = "batch") -> str:
    """Where and which way the line bends, in words (empty when it holds everywhere)."""
    words = []
    for end in ("low", "high"):
        side = [d for d in dropped if d["end"] == end]
        if not side:
            continue
        worst = max(side, key=lambda d: abs(d["off_line"]))
        edge = max(d["x"] for d in side) if end == "low" else min(d["x"] for d in side)
        where = f"{'at and below' if end == 'low' else 'at and above'} {unit} {edge:g}"
        slower = worst["off_line"] > 0
        if end == "high":
            why = (
                "per-sample cost grows: caches or memory bandwidth"
                if slower
                else "per-sample cost falls: the thread pool pays off at larger batches"
            )
        else:
            why = (
                "fixed cost grows at small batches"
                if slower
                else "small batches cost less than the line: cache-resident"
            )
        words.append(f"bends {where} ({worst['off_line']:+.0%} off the line; likely {why})")
    return "; ".join(words)


def dominant_terms(f: Fit, xs: Sequence[float]) -> list[str]:
    """Per length, which term of ``a + b·T + c·T²`` is the largest share of the step."""
    names = {"1": "fixed", "x": "linear (b·T)", "x2": "quadratic (c·T²)"}
    out = []
    for x in xs:
        parts = f.design(x)[0] * f.coef
        out.append(names[f.terms[int(np.argmax(parts))]])
    return out


def holdout(
    x: Sequence[float], passes: Sequence[Sequence[float]], drop: int, n_boot: int = 1000
) -> dict[str, Any]:
    """Leave point ``drop`` out, fit the rest, predict it: does the measured mean fall inside
    the 95 % prediction interval?"""
    keep = [i for i in range(len(x)) if i != drop]
    f = fit([x[i] for i in keep], [passes[i] for i in keep], n_boot=n_boot)
    centre, lo, hi = f.predict(float(x[drop]))
    measured = float(np.mean(passes[drop]))
    return {"x": float(x[drop]), "measured": measured, "predicted": centre, "low": lo,
            "high": hi, "inside": bool(lo <= measured <= hi)}  # fmt: skip
