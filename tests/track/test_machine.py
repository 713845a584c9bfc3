"""The machine's move between two runs (bench/track/machine.py) and the Welch test that carries
its uncertainty (verdicts.compare_passes), checked against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import t as student_t

from bench.track import machine, verdicts

WORKLOAD = "numpy: ten matmuls"


def records(seconds: list[float], n: int = 3, workload: str = WORKLOAD) -> list[dict]:
    """``n`` records of one run, each carrying the run's one reference measurement."""
    ref = {"workload": workload, "seconds": seconds}
    return [{"key": f"cell{i}", "drift_reference": ref} for i in range(n)]


def test_a_runs_reference_is_counted_once_however_many_records_carry_it() -> None:
    name, measurements = machine.reference_seconds(records([0.1, 0.2, 0.3], n=5))
    assert name == WORKLOAD and measurements == [[0.1, 0.2, 0.3]]
    mixed = records([0.1]) + records([0.1], workload="other")
    assert machine.reference_seconds(mixed) is None


def test_the_reference_estimate_is_welch_on_log_pass_times() -> None:
    b, c = [0.20, 0.21, 0.19], [0.22, 0.24, 0.23]
    est = machine.reference_estimate(records(b), records(c))
    x, y = np.log(b), np.log(c)
    assert est.log_change == pytest.approx(y.mean() - x.mean())
    vx, vy = x.var(ddof=1) / 3, y.var(ddof=1) / 3
    assert est.variance == pytest.approx(vx + vy)
    assert est.df == pytest.approx((vx + vy) ** 2 / (vx**2 / 2 + vy**2 / 2))
    assert est.spread_known


def test_one_reading_a_run_borrows_the_other_runs_spread_or_says_it_is_unknown() -> None:
    b, c = [0.20, 0.21, 0.19], [0.22]
    est = machine.reference_estimate(records(b), records(c))
    s = np.log(b).var(ddof=1)
    assert est.variance == pytest.approx(s / 3 + s / 1) and est.spread_known
    alone = machine.reference_estimate(records([0.2]), records([0.22]))
    assert alone.variance == 0.0 and not alone.spread_known


def test_the_cells_median_needs_six_cells_and_has_a_bootstrap_error() -> None:
    assert machine.cells_estimate([0.1] * 5) is None
    est = machine.cells_estimate([0.00, 0.01, 0.02, 0.03, 0.04, 0.05, 0.30])
    assert est.log_change == pytest.approx(0.03) and est.n == 7
    assert 0 < est.se < 0.05  # the outlier barely moves a median


def test_two_estimates_agree_within_their_combined_interval() -> None:
    a = machine.Estimate(0.00, 0.01**2, math.inf, 6)
    assert machine.estimates_agree(a, machine.Estimate(0.02, 0.01**2, math.inf, 6))
    assert not machine.estimates_agree(a, machine.Estimate(0.03, 0.01**2, math.inf, 6))


def test_satterthwaite_degrees_of_freedom() -> None:
    assert machine.satterthwaite([(1.0, 2), (1.0, 2)]) == pytest.approx(4.0)
    assert machine.satterthwaite([(1.0, 5), (0.0, 5)]) == pytest.approx(5.0)
    assert machine.satterthwaite([(1.0, math.inf)]) == math.inf


def _passes(medians: list[float]) -> list[list[np.ndarray]]:
    return [[np.full(5, m)] for m in medians]


def test_compare_passes_adds_the_offsets_variance_to_the_welch_test() -> None:
    b, c = [1.00, 1.02, 0.98], [1.10, 1.12, 1.08]
    offset, offset_var, offset_df = 0.05, 0.02**2, 4.0
    out = verdicts.compare_passes(_passes(b), _passes(c), offset=offset,
                                  offset_variance=offset_var, offset_df=offset_df)  # fmt: skip
    x, y = np.log(b), np.log(c) - offset
    diff = y.mean() - x.mean()
    parts = [(x.var(ddof=1) / 3, 2), (y.var(ddof=1) / 3, 2), (offset_var, offset_df)]
    se = math.sqrt(sum(v for v, _ in parts))
    df = se**4 / sum(v * v / d for v, d in parts)
    assert out["change"] == pytest.approx(math.expm1(diff))
    assert out["p_value"] == pytest.approx(2 * student_t.sf(abs(diff) / se, df))
    half = student_t.ppf(0.975, df) * se
    assert out["ci_low"] == pytest.approx(math.expm1(diff - half))
    plain = verdicts.compare_passes(_passes(b), _passes(c), offset=offset)
    assert plain["p_value"] < out["p_value"]
    assert plain["ci_high"] - plain["ci_low"] < out["ci_high"] - out["ci_low"]


def test_a_single_pass_comparison_widens_its_interval_by_the_offsets_variance() -> None:
    rng = np.random.default_rng(0)
    b = [[rng.lognormal(0.0, 0.02, 200)]]
    c = [[rng.lognormal(0.08, 0.02, 200)]]  # 8 % slower: "slower" on its own
    alone = verdicts.compare_passes(b, c)
    assert alone["verdict"] == "slower"
    widened = verdicts.compare_passes(b, c, offset_variance=0.05**2)  # a 5 % sd drift estimate
    assert widened["ci_low"] < 0 < widened["ci_high"]
    assert widened["verdict"] == "unchanged" and "widened" in widened["method"]


def test_the_spread_check_only_applies_to_a_reference_both_runs_share() -> None:
    noisy_old = records([0.10, 0.15, 0.12], workload="old workload")
    quiet_new = records([0.20, 0.201, 0.199])
    assert machine.disturbances(noisy_old, quiet_new, None, 0.15) == []
    ref = machine.reference_estimate(noisy_old, noisy_old)
    assert any("spread 20%" in why for why in machine.disturbances(noisy_old, noisy_old, ref, 0.15))


def test_one_pass_out_of_line_does_not_move_the_machine_past_the_threshold() -> None:
    """Quiet runs read the reference within a few percent, now and then one pass far out of
    line (15.9 ms among 8 ms ones): the move between runs is median pass against median pass,
    so that pass widens the drift estimate's variance but does not mark the pair disturbed,
    while a move of every pass still does."""
    quiet = records([0.0080, 0.0081, 0.0079])
    one_out = records([0.0080, 0.0159, 0.0081])
    ref = machine.reference_estimate(quiet, one_out)
    assert math.expm1(ref.log_change) > 0.15  # the mean of three moved 26 %
    assert machine.reference_move(quiet, one_out) == pytest.approx(math.log(0.0081 / 0.0080))
    assert machine.disturbances(quiet, one_out, ref, 0.15) == []
    slower = records([0.0095, 0.0096, 0.0094])
    ref = machine.reference_estimate(quiet, slower)
    assert any("moved +18.8%" in why for why in machine.disturbances(quiet, slower, ref, 0.15))


def test_one_slow_pass_in_five_is_left_out_and_a_change_in_every_pass_is_not() -> None:
    """The slowest pass of a run of four or more is left out when it is more than 15 % slower
    than the median of the others (the chain measured on the quiet VM: torch's MLP passes 0.95,
    3.15, 1.07, 0.93, 0.95 ms); a fast pass, a pass 10 % slow or a run of three is kept whole."""
    assert verdicts.in_line(np.log([0.95, 3.15, 1.07, 0.93, 0.95])).tolist() == [
        True, False, True, True, True]  # fmt: skip
    assert verdicts.in_line(np.log([0.95, 1.04, 0.93, 0.95])).all()  # 10 % slow: in line
    assert verdicts.in_line(np.log([0.95, 0.50, 0.93, 0.95])).all()  # fast: never left out
    assert verdicts.in_line(np.log([0.95, 3.15, 0.93])).all()  # three passes: all judged
    base = _passes([1.00, 1.02, 0.98, 1.01, 0.99])
    same = verdicts.compare_passes(base, _passes([1.01, 3.00, 0.99, 1.00, 1.02]))
    assert same["verdict"] == "unchanged" and same["left_out"] == [0, 1]
    assert "1 current pass out of line left out" in same["method"]
    assert abs(same["change"]) < 0.02
    slower = verdicts.compare_passes(base, _passes([1.30, 1.33, 1.28, 1.31, 1.29]))
    assert slower["verdict"] == "slower" and slower["left_out"] == [0, 0]


def test_the_cells_scatter_beyond_their_passes_is_the_machines_one_cell_does_not_set_it() -> None:
    """Six cells whose passes explain a 1 % spread of their changes but which scatter 8 % about
    the median (1.4826 MAD): the machine moved them apart, and that variance (beyond the passes')
    joins every cell's; one cell that really changed (-40 %) does not move the median or the MAD
    much; passes that explain the scatter leave nothing; fewer than six cells, no estimate."""
    changes = [0.00, 0.08, -0.08, 0.04, -0.04, 0.0]
    est = machine.cells_scatter(changes, [0.01**2] * 6)
    x = np.array(changes)
    mad = 1.4826 * np.median(np.abs(x - np.median(x)))
    assert est.variance == pytest.approx(mad**2 - 0.01**2) and est.df == 5
    moved = [*changes[:5], 0.40]
    planted = machine.cells_scatter(moved, [0.01**2] * 6)
    assert planted.variance < 3 * est.variance < np.var(moved, ddof=1) / 2  # the SD's would be 8x
    assert machine.cells_scatter(changes, [0.2**2] * 6).variance == 0.0
    assert machine.cells_scatter(changes[:5], [0.01**2] * 5) is None
    assert machine.cells_scatter(changes, [None] * 6) is None  # one pass a side: no variances


def test_the_scatter_joins_the_variance_every_cell_is_judged_with() -> None:
    run = records([0.0080, 0.0081, 0.0079])
    changes = [0.00, 0.08, -0.08, 0.04, -0.04, 0.0]
    plain = machine.machine_view(run, run, changes, 0.15)
    view = machine.machine_view(run, run, changes, 0.15, cell_variances=[0.01**2] * 6)
    assert view.scatter is not None and view.scatter.variance > 0
    assert view.variance == pytest.approx(plain.variance + view.scatter.variance)
    parts = [(plain.variance, plain.df), (view.scatter.variance, 5.0)]
    assert view.df == pytest.approx(machine.satterthwaite(parts))


def test_the_estimates_disagreement_joins_the_machines_variance_with_one_df() -> None:
    """Unchanged code, measured: the cells' median moved +24.6 % while the reference read +8.6 %.
    Their difference squared, beyond both estimates' own variances, is added to the machine's
    variance (one degree of freedom), so no cell is judged against a move the two estimates do
    not agree on."""
    base, current = records([0.0090, 0.0091, 0.0089]), records([0.0082, 0.0083, 0.0082])
    together = [math.log(1 / 1.25)] * 3 + [math.log(1 / 1.3), math.log(1 / 1.2), -0.2]
    ref = machine.reference_estimate(base, current)
    cells = machine.cells_estimate(together)
    view = machine.machine_view(base, current, together, 0.15)
    apart = cells.log_change - ref.log_change
    assert view.disagreement == pytest.approx(apart)
    excess = apart**2 - ref.variance - cells.variance
    assert excess > 0
    expected = (ref.variance if view.source == "reference" else
                max(ref.variance, cells.variance)) + excess  # fmt: skip
    assert view.variance == pytest.approx(expected)
    assert view.df < 3  # the disagreement dominates, with its one degree of freedom
