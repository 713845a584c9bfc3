"""How far the machine moved between two runs, how sure we are of it, and whether it was quiet
enough to judge speed at all.

Two estimates of the machine's move (natural log of a step-time ratio, current over base):

* the **drift reference**: a fixed framework-free NumPy workload timed in every pass of a run;
  its estimate carries its own uncertainty, the pass-to-pass spread of the reference in both
  runs (Welch), so a noisy reference widens every cell's interval instead of entering each
  verdict as an exact constant;
* the **median of the cells'** log changes, with a bootstrap standard error over the cells;
  it needs at least :data:`MIN_DRIFT_CELLS` cells and says so when it has fewer.

The two are a cross-check on each other: a float64 NumPy workload and dispatch-bound framework
steps in other thread pools do not always move together on a shared VM (measured: the reference
read the machine 9.3 % faster while the cells moved -6.8 % to +0.4 %). Where they disagree by more
than their intervals allow, no correction is trusted: cells are judged on their raw change, with
the wider interval of the two estimates.

A machine is **disturbed** when its reference moved more than the disturbance threshold between
the runs (median pass against median pass), spread more than it within a run, or ``bench run``
found other processes using the CPU when it started (``busy_processes`` in the run's
``env.json``), or when the cells' median and the reference moved more than the threshold apart.
Below that, where they disagree, the machine's move is known no better: their difference
beyond their own errors joins its variance (:func:`machine_view`). So a slowdown common to every
cell that the reference did not share reads *machine disturbed* (``--strict`` fails on it), not
*unchanged*, and not *slower*: on this VM unchanged code saw every cell move 6-34 % while the
reference moved 8.6 %.
Contention does not slow every framework like it slows the reference (torch's spin-waiting pool
collapses, tf's does not), so no correction can rescue such a comparison;
:mod:`bench.track.compare` withholds its speed verdicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.measure.environment import busy_names

#: Fewest cells whose median change is taken as an estimate of the machine's move.
MIN_DRIFT_CELLS = 6
#: The 95 % two-sided normal quantile: two estimates disagree beyond it.
AGREEMENT_Z = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """A log step-time change with the variance of its estimate and that variance's degrees of
    freedom (Welch-Satterthwaite; ``inf`` when the variance is taken as known)."""

    log_change: float
    variance: float
    df: float
    n: int  # reference: passes (both runs); cells: cells
    spread_known: bool = True  # False: one reading a run, the estimate's variance unknown (0)

    @property
    def machine_change(self) -> float:
        """As a throughput change (+ is faster), the way the output shows it."""
        return math.exp(-self.log_change) - 1.0

    @property
    def se(self) -> float:
        return math.sqrt(self.variance)


@dataclass
class MachineView:
    """What each cell's speed is judged against: the offset taken off (``shift``, log step-time
    ratio), the variance added to each cell's own, and why."""

    shift: float = 0.0
    variance: float = 0.0
    df: float = math.inf
    source: str | None = None  # "reference" | "cells" | "raw" (the two disagree) | None (off)
    reference: Estimate | None = None
    cells: Estimate | None = None
    agree: bool | None = None  # None when there was nothing to cross-check
    scatter: Estimate | None = None  # the cells' own scatter about the machine's move
    disagreement: float | None = None  # cells' median minus reference, log step time
    disturbed: list[str] = field(default_factory=list)  # why speed verdicts are withheld

    def add_variance(self, variance: float, df: float) -> None:
        """Another source of uncertainty about the machine's move: its variance joins every
        cell's, the degrees of freedom combined (Welch-Satterthwaite)."""
        if variance <= 0:
            return
        parts = [(self.variance, self.df), (variance, df)]
        self.df = satterthwaite([p for p in parts if p[0] > 0])
        self.variance += variance

    @property
    def cells_machine_change(self) -> float | None:
        return None if self.cells is None else self.cells.machine_change


def reference_seconds(records: list[dict[str, Any]]) -> tuple[str, list[list[float]]] | None:
    """A run's drift reference: its workload's name and the seconds of each timing pass, one
    list per distinct measurement (records that carry the same list are one measurement, counted
    once). None when no record has one, or the records name different workloads."""
    workloads: set[str] = set()
    seen: dict[tuple[float, ...], None] = {}
    for r in records:
        ref = r.get("drift_reference")
        if not isinstance(ref, dict) or not ref.get("seconds"):
            continue
        seconds = [float(s) for s in ref["seconds"] if s is not None]
        if not seconds or not all(math.isfinite(s) and s > 0 for s in seconds):
            continue
        workloads.add(str(ref.get("workload")))
        seen[tuple(seconds)] = None
    if len(workloads) != 1:
        return None
    return workloads.pop(), [list(s) for s in seen]


def _flat(measurements: list[list[float]]) -> np.ndarray:
    return np.log(np.array([s for m in measurements for s in m], dtype=np.float64))


def reference_estimate(
    base: list[dict[str, Any]], current: list[dict[str, Any]]
) -> Estimate | None:
    """The log ratio of the geometric means of the reference's pass times, with a Welch variance
    from each run's pass-to-pass spread. A run with one reading (``--timing-passes 0``) borrows
    the other run's per-pass variance; with one reading in each, the variance is unknown (0, and
    ``spread_known`` False, which the output says). None when either run has no reference or
    they ran different workloads."""
    b, c = reference_seconds(base), reference_seconds(current)
    if b is None or c is None or b[0] != c[0]:
        return None
    x, y = _flat(b[1]), _flat(c[1])
    spreads = [v.var(ddof=1) for v in (x, y) if v.size >= 2]
    if not spreads:
        return Estimate(float(y.mean() - x.mean()), 0.0, math.inf, int(x.size + y.size), False)
    sx = x.var(ddof=1) if x.size >= 2 else spreads[0]
    sy = y.var(ddof=1) if y.size >= 2 else spreads[0]
    parts = [(sx / x.size, max(x.size - 1, 1)), (sy / y.size, max(y.size - 1, 1))]
    variance = float(parts[0][0] + parts[1][0])
    return Estimate(float(y.mean() - x.mean()), variance, satterthwaite(parts), x.size + y.size)


def satterthwaite(parts: list[tuple[float, float]]) -> float:
    """Degrees of freedom of a sum of variances, each ``(variance, its df)``."""
    total = sum(v for v, _ in parts)
    denominator = sum(v * v / d for v, d in parts if d > 0 and math.isfinite(d))
    if total <= 0 or denominator <= 0:
        return math.inf
    return total * total / denominator


def cells_estimate(log_changes: list[float], n_boot: int = 2000, seed: int = 0) -> Estimate | None:
    """The median of the cells' log changes and its bootstrap variance over the cells; None with
    fewer than :data:`MIN_DRIFT_CELLS` cells (a median of three cells is one cell's noise)."""
    x = np.asarray(log_changes, dtype=np.float64)
    if x.size < MIN_DRIFT_CELLS:
        return None
    rng = np.random.default_rng(seed)
    boot = np.median(x[rng.integers(0, x.size, size=(n_boot, x.size))], axis=1)
    return Estimate(float(np.median(x)), float(boot.var(ddof=1)), float(x.size - 1), int(x.size))


def cells_scatter(log_changes: list[float], variances: list[float | None]) -> Estimate | None:
    """How far the machine moves one cell apart from the others between two runs: the robust
    spread of the cells' log changes about their median (1.4826 MAD) beyond what their passes
    explain (the median of their change variances), as a variance; 0 when the passes explain it
    all, None with fewer than :data:`MIN_DRIFT_CELLS` cells.

    Passes are timed minutes apart within a run, runs further apart: on the shared 2-core VM a
    cell's level moves from run to run beyond its passes' spread, and not alike for every cell
    (in ten same-code quick-suite comparisons one cell's 5 passes moved -16 % [-24 %, -8 %]
    while the reference moved +2 %). Left out, that move reads as a regression. The cells of the
    comparison measure it: most cells did not change, so their scatter about the median is the
    machine's; a median and a MAD are not moved by the one or two cells that did."""
    pairs = [(c, v) for c, v in zip(log_changes, variances, strict=True) if v is not None]
    if len(pairs) < MIN_DRIFT_CELLS:
        return None
    x = np.array([c for c, _ in pairs])
    mad = 1.4826 * float(np.median(np.abs(x - np.median(x))))
    tau2 = max(0.0, mad * mad - float(np.median([v for _, v in pairs])))
    return Estimate(0.0, tau2, float(len(pairs) - 1), len(pairs))


def estimates_agree(a: Estimate, b: Estimate, z: float = AGREEMENT_Z) -> bool:
    """Whether two estimates of one move are within ``z`` standard errors of their difference."""
    se = math.sqrt(a.variance + b.variance)
    return abs(a.log_change - b.log_change) <= z * se


def reference_spread(records: list[dict[str, Any]]) -> float | None:
    """A run's reference spread: its second-slowest pass over its fastest, minus 1 (slowest over
    fastest with two passes; None with fewer). A quiet machine repeats the workload within a few
    percent, with now and then one pass out of line: in 15 back-to-back quick-suite runs on the
    quiet 2-core VM, 42 of 45 passes read 7.8-8.8 ms and three read 11.1, 13.9 and 15.9 ms, one
    pass in a run each. One such pass widens the reference's variance and its cells' own
    intervals (every test is over passes); a run where two passes disagree is disturbed."""
    ref = reference_seconds(records)
    if ref is None:
        return None
    seconds = sorted(s for m in ref[1] for s in m)
    if len(seconds) < 2:
        return None
    return seconds[-2 if len(seconds) >= 3 else -1] / seconds[0] - 1.0


def reference_move(base: list[dict[str, Any]], current: list[dict[str, Any]]) -> float | None:
    """How far the machine moved between two runs for the disturbance test: the log ratio of the
    runs' *median* pass readings of the reference. The median, not the geometric mean that the
    drift estimate takes (with its spread): one pass out of line is tolerated within a run
    (:func:`reference_spread`), and it must not mark the pair disturbed through the mean either
    (a 15.9 ms pass among 8 ms ones moves a 3-pass geometric mean 26 %). None without a shared
    reference."""
    b, c = reference_seconds(base), reference_seconds(current)
    if b is None or c is None or b[0] != c[0]:
        return None
    return float(np.median(_flat(c[1])) - np.median(_flat(b[1])))


def disturbances(
    base: list[dict[str, Any]],
    current: list[dict[str, Any]],
    reference: Estimate | None,
    threshold: float,
    base_env: dict[str, Any] | None = None,
    current_env: dict[str, Any] | None = None,
) -> list[str]:
    """Why the machine cannot be trusted to judge speed between these two runs; empty if it can."""
    out = []
    move = reference_move(base, current) if reference is not None else None
    if move is not None and abs(math.expm1(move)) > threshold:
        out.append(
            f"the drift reference moved {math.expm1(move):+.1%} in step time (median pass) "
            f"between the runs (beyond the {threshold:.0%} disturbance threshold)"
        )
    for name, records, env in (("base", base, base_env), ("current", current, current_env)):
        # the spread test only where the reference is used: both runs ran one workload (an
        # older workload spread far more, and a run of it is compared on its cells' median)
        spread = reference_spread(records) if reference is not None else None
        if spread is not None and spread > threshold:
            out.append(
                f"the drift reference spread {spread:.0%} across the {name} run's passes "
                f"(beyond {threshold:.0%})"
            )
        busy = busy_names(env)
        if busy:
            out.append(f"other processes used the CPU when the {name} run started: "
                       + ", ".join(busy[:3]))  # fmt: skip
    return out


def machine_view(
    base: list[dict[str, Any]],
    current: list[dict[str, Any]],
    cell_log_changes: list[float],
    disturbance_threshold: float,
    drift_correction: bool = True,
    base_env: dict[str, Any] | None = None,
    current_env: dict[str, Any] | None = None,
    cell_variances: list[float | None] | None = None,
) -> MachineView:
    """The offset and extra variance each cell is judged with, and the machine's disturbances.

    With both estimates in hand and agreeing, the reference's is used (a change common to most
    cells still shows); disagreeing, no correction is trusted (raw change, the larger of the two
    estimates' variances added); with only the cells' median, that (a change common to most
    cells is then taken off as drift, and the output says so)."""
    ref = reference_estimate(base, current)
    cells = cells_estimate(cell_log_changes)
    view = MachineView(reference=ref, cells=cells)
    if cell_variances is not None:
        view.scatter = cells_scatter(cell_log_changes, cell_variances)
    view.disturbed = disturbances(base, current, ref, disturbance_threshold, base_env,
                                  current_env)  # fmt: skip
    if ref is not None and cells is not None:
        view.agree = estimates_agree(ref, cells)
        view.disagreement = cells.log_change - ref.log_change
        apart = math.expm1(view.disagreement)
        if abs(apart) > disturbance_threshold:
            view.disturbed.append(
                f"the cells' median and the drift reference moved {abs(apart):.0%} apart in "
                f"step time (beyond the {disturbance_threshold:.0%} disturbance threshold): "
                "the machine moved the cells in a way the reference did not see, or a change is "
                "common to every cell; only a rerun on a quiet machine can tell which"
            )
    if not drift_correction:
        return _with_scatter(view)
    if ref is not None and view.agree is not False:
        view.shift, view.variance, view.df, view.source = (
            ref.log_change,
            ref.variance,
            ref.df,
            "reference",
        )
    elif ref is not None:  # both exist and disagree
        wider = max((ref, cells), key=lambda e: e.variance)  # type: ignore[arg-type]
        view.variance, view.df, view.source = wider.variance, wider.df, "raw"
    elif cells is not None:
        view.shift, view.variance, view.df, view.source = (
            cells.log_change,
            cells.variance,
            cells.df,
            "cells",
        )
    if ref is not None and cells is not None:
        _with_disagreement(view, ref, cells)
    return _with_scatter(view)


def _with_disagreement(view: MachineView, ref: Estimate, cells: Estimate) -> None:
    """The two estimates' disagreement beyond their own errors (their difference squared less
    both variances, at least 0) added to the machine's variance with one degree of freedom:
    the machine's move is known no better than its two estimates agree. Measured on unchanged
    code: the cells' median moved +24.6 % while the reference read +8.6 % (in throughput), the
    machine having slowed the base run's cells in a way its NumPy workload did not feel; judged
    against the reference alone, one cell read 34 % *faster* [+10 %, +64 %]. Two estimates that
    agree within their errors cost nothing."""
    apart = cells.log_change - ref.log_change
    view.add_variance(max(0.0, apart * apart - ref.variance - cells.variance), 1.0)


def _with_scatter(view: MachineView) -> MachineView:
    """The cells' scatter (:func:`cells_scatter`) added to the variance every cell is judged
    with, the degrees of freedom combined (Welch-Satterthwaite)."""
    if view.scatter is not None:
        view.add_variance(view.scatter.variance, view.scatter.df)
    return view
