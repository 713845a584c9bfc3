"""Verdicts on a change: one cell between two commits (bootstrap + Mann-Whitney, Welch over
passes, a pass out of line left out), Holm's adjustment over the cells of a comparison, the
memory and accuracy verdicts. (The change points of a history series:
:mod:`bench.track.change_points`.)

Pure functions of NumPy arrays; :mod:`bench.track.compare` and the history page call them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bench.measure.intervals import (
    as_samples,
    block_length_for,
    check_confidence,
    counts_from_indices,
    medians_from_counts,
    percentile_interval,
    step_indices,
    t_quantile,
)
from bench.measure.summaries import pass_medians

# Accuracy differences below half a percentage point are not worth a verdict however significant:
# the least effect an accuracy verdict needs, beside its evidence (accuracy_sigma).
_ACCURACY_FLOOR = 0.005


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

    check_confidence(confidence)
    b = as_samples(base, "compare_samples base")
    c = as_samples(current, "compare_samples current")
    b_med, c_med = float(np.median(b)), float(np.median(c))
    if b_med <= 0:
        raise ValueError("compare_samples: the base median must be positive")
    change = c_med / b_med - 1.0
    rng = np.random.default_rng(seed)
    parts = []
    lengths = []
    for x in (b, c):
        length = block_length_for(x)
        lengths.append(length)
        order = np.argsort(x, kind="stable")
        counts = counts_from_indices(step_indices(x.size, length, n_boot, rng), x.size)
        parts.append(medians_from_counts(x[order], counts[:, order]))
    boot_b, boot_c = parts
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = boot_c / boot_b - 1.0
    lo, hi = percentile_interval(boot, confidence)
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


#: A pass whose median step is more than this much slower than the median of its run's other
#: passes is out of line (the same 15 % as the drift reference's disturbance threshold).
OUT_OF_LINE = 0.15
#: Fewest passes in a run before one may be left out as out of line (three remain).
MIN_PASSES_TO_SCREEN = 4


def in_line(log_medians: np.ndarray, limit: float = OUT_OF_LINE) -> np.ndarray:
    """Which passes of one cell in one run to judge on (a boolean mask): all of them, or all but
    the slowest when it is more than ``limit`` slower than the median of the others and the run
    has at least :data:`MIN_PASSES_TO_SCREEN` passes. At most one pass is left out, and only a
    slow one: on a quiet 2-core VM a pass now and then runs 1.5-3x slow (torch's two spin-waiting
    threads lose a core to anything else that runs for a second: a test process, a host's
    neighbour), while something else on the machine can only slow a pass down, never speed it
    up. One such pass in five widened a same-code comparison's interval to [-37 %, +129 %]; a
    change worth a verdict shows in most passes, and one out of line is not evidence of it."""
    x = np.asarray(log_medians, dtype=np.float64)
    keep = np.ones(x.size, dtype=bool)
    if x.size < MIN_PASSES_TO_SCREEN:
        return keep
    slowest = int(np.argmax(x))
    if x[slowest] - float(np.median(np.delete(x, slowest))) > math.log1p(limit):
        keep[slowest] = False
    return keep


def screened_logs(passes: list[list[np.ndarray]]) -> tuple[np.ndarray, int]:
    """The log median step time of each pass in line (:func:`in_line`), and how many were left
    out."""
    x = np.log(pass_medians(passes))
    keep = in_line(x)
    return x[keep], int((~keep).sum())


def compare_passes(
    base: list[list[np.ndarray]],
    current: list[list[np.ndarray]],
    threshold: float = 0.05,
    alpha: float = 0.05,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    offset: float = 0.0,
    offset_variance: float = 0.0,
    offset_df: float = math.inf,
) -> dict[str, Any]:
    """Relative change of one cell's step time between two runs, each timed in passes.

    With at least two passes on each side the unit of evidence is the pass (one process, one
    minute of the run): Welch's t test on the log median step time of each pass, and the
    matching interval for the ratio of geometric means. Steps inside one pass are not
    independent evidence about the next run: on a shared machine, tests on raw step times
    (thousands of them) called every cell of ten same-code comparisons significant. With one
    pass on either side (older runs, imported benchmarks) this falls back to
    :func:`compare_samples` on the pooled steps. Same return shape as that function, plus
    ``left_out`` (passes out of line left out of the base and current runs, :func:`in_line`:
    with four or more passes, the slowest when it is more than 15 % slower than the others).

    ``offset`` (natural log of a step-time ratio) is taken off the current run before judging:
    the run-wide drift of the machine (:mod:`bench.track.machine`), so the change reported is the
    cell's change relative to the machine. ``offset_variance`` (with its
    degrees of freedom ``offset_df``) is that estimate's own uncertainty
    (:mod:`bench.track.machine`): it is added to the cell's variance, and the Welch-Satterthwaite
    degrees of freedom take all three parts, so a noisy drift estimate widens the interval and
    weakens the test instead of entering the verdict as an exact constant.
    """
    if not base or not current:
        raise ValueError("compare_passes: both sides need at least one pass")
    scale = math.exp(-offset)
    if len(base) < 2 or len(current) < 2:
        b = np.concatenate([r for p in base for r in p])
        c = np.concatenate([r for p in current for r in p]) * scale
        out = compare_samples(b, c, threshold, alpha, confidence, n_boot, seed)
        return _widened(out, offset_variance, confidence, threshold, alpha)
    (x, out_b), (y, out_c) = screened_logs(base), screened_logs(current)
    y = y - offset
    diff, lo, hi, p_value = welch_logs(x, y, confidence, offset_variance, offset_df)
    change, ci_low, ci_high = math.expm1(diff), math.expm1(lo), math.expm1(hi)
    left_out = [f"{n} {side} pass out of line left out" for n, side in
                ((out_b, "base"), (out_c, "current")) if n]  # fmt: skip
    return {
        "change": change,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "p_value": p_value,
        "verdict": change_verdict(change, ci_low, ci_high, p_value, threshold, alpha),
        "n_base": int(x.size),
        "n_current": int(y.size),
        "method": f"Welch t on log median step time of {x.size} vs {y.size} passes"
        + (" and the drift estimate's variance" if offset_variance > 0 else "")
        + (f" ({'; '.join(left_out)})" if left_out else ""),
        "left_out": [out_b, out_c],
    }


def welch_logs(
    x: np.ndarray,
    y: np.ndarray,
    confidence: float = 0.95,
    offset_variance: float = 0.0,
    offset_df: float = math.inf,
) -> tuple[float, float, float, float]:
    """Welch's t on two samples of logs (two or more each): the difference of their means
    ``y - x``, its interval and two-sided p-value, as (diff, low, high, p). An offset's variance
    (with its degrees of freedom) joins the standard error and the Welch-Satterthwaite degrees
    of freedom. Two samples with no spread at all give an exact difference (p 0, or 1 if 0)."""
    from scipy.stats import t as student_t

    check_confidence(confidence)
    diff = float(y.mean() - x.mean())
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    parts = [(vx, x.size - 1), (vy, y.size - 1), (max(offset_variance, 0.0), offset_df)]
    se = math.sqrt(sum(v for v, _ in parts))
    if se == 0.0:
        return diff, diff, diff, 1.0 if diff == 0.0 else 0.0
    total = se * se
    denominator = sum(v * v / d for v, d in parts if v > 0 and math.isfinite(d))
    df = total * total / denominator if denominator > 0 else math.inf
    half = t_quantile(confidence, df) * se
    return diff, diff - half, diff + half, float(2.0 * student_t.sf(abs(diff) / se, df))


#: A memory sample below this is read as this: a cell that costs next to nothing above the
#: framework's baseline has no meaningful relative change (and log 0 is not a number).
MEMORY_FLOOR_BYTES = 2**20


def compare_memory(
    base: list[float], current: list[float], threshold: float = 0.10, confidence: float = 0.95
) -> dict[str, Any]:
    """One cell's memory change between two runs, from each run's samples (one per timing pass,
    each a fresh worker: :mod:`bench.measure.memory`). With two or more on each side: Welch's t
    on the log samples (the same test as speed over passes), its p-value to be Holm-adjusted with
    the other cells' and the verdict left to :func:`memory_verdict`. With one on either side
    there is no evidence of spread: the threshold alone judges, and ``method`` says so.
    Returns {"change", "ci_low", "ci_high", "p_value", "method", "n_base", "n_current"}."""
    if not base or not current:
        raise ValueError("compare_memory: both runs need a memory sample")
    x = np.log(np.maximum(np.asarray(base, float), MEMORY_FLOOR_BYTES))
    y = np.log(np.maximum(np.asarray(current, float), MEMORY_FLOOR_BYTES))
    out: dict[str, Any] = {"n_base": int(x.size), "n_current": int(y.size)}
    if x.size < 2 or y.size < 2:
        change = math.expm1(float(np.median(y) - np.median(x)))
        method = "one sample: the threshold alone judges"
        return {**out, "change": change, "ci_low": None, "ci_high": None, "p_value": None,
                "method": method}  # fmt: skip
    diff, lo, hi, p_value = welch_logs(x, y, confidence)
    method = f"Welch t on log memory samples, {x.size} vs {y.size} fresh-worker passes"
    return {**out, "change": math.expm1(diff), "ci_low": math.expm1(lo),
            "ci_high": math.expm1(hi), "p_value": p_value, "method": method}  # fmt: skip


def memory_verdict(change: dict[str, Any], threshold: float, alpha: float = 0.05) -> str:
    """ "hungrier", "leaner" or "unchanged" from :func:`compare_memory`'s result (its p-value
    adjusted over the cells by then): beyond ``threshold`` and, where there are samples to
    judge, significant with an interval that excludes 0."""
    if change["p_value"] is None:  # one sample: the threshold alone, as labelled
        if change["change"] > threshold:
            return "hungrier"
        return "leaner" if change["change"] < -threshold else "unchanged"
    moved = change_verdict(change["change"], change["ci_low"], change["ci_high"],
                           change["p_value"], threshold, alpha)  # fmt: skip
    return {"slower": "hungrier", "faster": "leaner"}.get(moved, "unchanged")


def _widened(
    out: dict[str, Any], variance: float, confidence: float, threshold: float, alpha: float
) -> dict[str, Any]:
    """A raw-step comparison's interval widened, in log space, by the drift estimate's own
    uncertainty (a normal half-width): the steps' bootstrap cannot know it, and a verdict
    needs the widened interval to exclude 0."""
    if variance <= 0:
        return out
    from scipy.stats import norm

    half = float(norm.ppf(0.5 + confidence / 2)) * math.sqrt(variance)
    lo = math.expm1(math.log1p(out["ci_low"]) - half)
    hi = math.expm1(math.log1p(out["ci_high"]) + half)
    verdict = change_verdict(out["change"], lo, hi, out["p_value"], threshold, alpha)
    method = out["method"] + ", interval widened by the drift estimate's variance"
    return {**out, "ci_low": lo, "ci_high": hi, "verdict": verdict, "method": method}


def screened_change(
    base: list[list[np.ndarray]], current: list[list[np.ndarray]]
) -> tuple[float, float | None]:
    """Natural log of the step-time ratio current/base (geometric means of the pass medians in
    line, :func:`in_line`, as :func:`compare_passes` judges them) and its variance from the
    passes' spread (Welch's). A run of one pass on either side is compared whole, with no
    variance (None). The screen leaves out a pass only from four, so two or more stay."""
    if len(base) < 2 or len(current) < 2:
        change = np.log(pass_medians(current)).mean() - np.log(pass_medians(base)).mean()
        return float(change), None
    x, y = screened_logs(base)[0], screened_logs(current)[0]
    variance = x.var(ddof=1) / x.size + y.var(ddof=1) / y.size
    return float(y.mean() - x.mean()), float(variance)


def log_change(base: list[list[np.ndarray]], current: list[list[np.ndarray]]) -> float:
    """Natural log of the step-time ratio current/base (:func:`screened_change`)."""
    return screened_change(base, current)[0]


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


def accuracy_sigma(
    seed_spread: float | None, base_acc: float, current_acc: float, test_samples: int | None
) -> tuple[float | None, str | None]:
    """The standard deviation one run's test accuracy has on its own, and where it comes from.

    A seed spread measured over seeds 0-4 and declared with the model (``"seeds"``) is the
    evidence: training noise, which thread-order float32 sums on a CPU reproduce even at one
    seed. Where none is measured yet, the test set's binomial standard error
    sqrt(p(1-p)/n) at the two runs' mean accuracy stands in (``"binomial"``): the noise of
    scoring on n samples, a stand-in until the spread is measured (on MNIST-1D's 1,000 test
    samples it is above the measured spreads: 1.5 points against the MLP's 0.62). (None, None)
    when neither is known (a record from before ``test_samples`` was written, fewer than two
    test samples, no declared spread).
    """
    if seed_spread is not None and math.isfinite(seed_spread) and seed_spread > 0:
        return abs(float(seed_spread)), "seeds"
    if test_samples and int(test_samples) >= 2:
        n = int(test_samples)
        p = min(max((base_acc + current_acc) / 2.0, 1.0 / n), 1.0 - 1.0 / n)
        return math.sqrt(p * (1.0 - p) / n), "binomial"
    return None, None


def accuracy_p_value(base_acc: float, current_acc: float, sigma: float) -> float:
    """Two-sided p-value of an accuracy change between two runs whose accuracies each have
    standard deviation ``sigma``: the change is N(0, 2 sigma^2) when nothing changed."""
    from scipy.stats import norm

    for name, value in (("base_acc", base_acc), ("current_acc", current_acc)):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"{name} must be a fraction in [0, 1], got {value}")
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be positive, got {sigma}")
    z = (current_acc - base_acc) / (math.sqrt(2.0) * sigma)
    return float(2.0 * norm.sf(abs(z)))


def accuracy_verdict(
    base_acc: float, current_acc: float, p_value: float, alpha: float = 0.05
) -> str:
    """ "worse", "better" or "unchanged": a change must be significant at ``alpha`` (the p-value
    adjusted over the comparison's cells, as speed's is) and beyond half a percentage point, a
    floor on the effect worth a verdict (as speed has its threshold)."""
    delta = current_acc - base_acc
    if p_value < alpha and delta < -_ACCURACY_FLOOR:
        return "worse"
    if p_value < alpha and delta > _ACCURACY_FLOOR:
        return "better"
    return "unchanged"
