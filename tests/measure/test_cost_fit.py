"""The fixed vs per-sample cost fit, its intervals, where the line holds, the held-out
prediction check and the crossovers, on synthetic sweeps whose truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from bench.measure import cost_fit, crossovers

BATCHES = [16, 32, 64, 128, 256, 512, 1024, 2048]


def sweep(a: float, c: float, noise: float, seed: int, passes: int = 3,
          bend: dict[int, float] | None = None) -> list[list[float]]:  # fmt: skip
    """Pass step seconds of a + c·B, each pass off by lognormal noise, some batches bent."""
    rng = np.random.default_rng(seed)
    out = []
    for b in BATCHES:
        true = (a + c * b) * (1 + (bend or {}).get(b, 0.0))
        out.append(list(true * np.exp(rng.normal(0, noise, passes))))
    return out


def test_the_fit_recovers_fixed_and_per_sample_cost() -> None:
    covered = 0
    for seed in range(20):
        f = cost_fit.fit(BATCHES, sweep(6e-4, 2e-6, 0.04, seed), n_boot=400, seed=seed)
        (a_lo, a_hi), (c_lo, c_hi) = f.interval(0), f.interval(1)
        assert a_lo < f.coef[0] < a_hi and c_lo < f.coef[1] < c_hi
        covered += (a_lo <= 6e-4 <= a_hi) and (c_lo <= 2e-6 <= c_hi)
    assert covered >= 14  # 95 % intervals, 3 passes: most seeds hold both truths


def test_a_bend_is_cut_off_and_said() -> None:
    passes = sweep(6e-4, 2e-6, 0.02, 1, bend={2048: 0.35})
    f, dropped = cost_fit.linear_range(BATCHES, passes, n_boot=400)
    assert f.x.max() == 1024 and [d["x"] for d in dropped] == [2048]
    assert dropped[0]["off_line"] > 0.25
    words = cost_fit.bend_words(dropped)
    assert "at and above batch 2048" in words and "per-sample cost grows" in words


def test_a_straight_line_keeps_every_point() -> None:
    f, dropped = cost_fit.linear_range(BATCHES, sweep(6e-4, 2e-6, 0.02, 2), n_boot=400)
    assert dropped == [] and len(f.x) == len(BATCHES)
    assert cost_fit.bend_words(dropped) == ""


def test_held_out_batch_lies_in_the_prediction_interval_for_8_of_9_pairs() -> None:
    """Done-when 2 on synthetic sweeps shaped like the suite's (9 framework x model pairs:
    fixed costs 0.3-3 ms, per-sample 1-200 µs, 3 passes with 3-8 % spread)."""
    rng = np.random.default_rng(7)
    inside = 0
    for pair in range(9):
        a, c = rng.uniform(3e-4, 3e-3), rng.uniform(1e-6, 2e-4)
        passes = sweep(a, c, rng.uniform(0.03, 0.08), 100 + pair)
        check = cost_fit.holdout(BATCHES, passes, drop=BATCHES.index(256), n_boot=500)
        inside += check["inside"]
    assert inside >= 8


def test_a_biased_prediction_is_caught() -> None:
    """The check can fail: a held-out point 40 % off the line is outside the interval."""
    passes = sweep(6e-4, 2e-6, 0.02, 3, bend={256: 0.4})
    assert not cost_fit.holdout(BATCHES, passes, drop=BATCHES.index(256), n_boot=500)["inside"]


def test_quadratic_length_fit_names_the_dominant_term() -> None:
    lengths = [32, 64, 128, 256]
    rng = np.random.default_rng(0)
    passes = [list((1e-3 + 2e-6 * t + 5e-8 * t * t) * np.exp(rng.normal(0, 0.02, 3)))
              for t in lengths]  # fmt: skip
    f = cost_fit.fit(lengths, passes, terms=("1", "x", "x2"), n_boot=400)
    assert cost_fit.dominant_terms(f, lengths) == [
        "fixed", "fixed", "fixed", "quadratic (c·T²)"
    ]  # fmt: skip
    assert f.coef[2] == pytest.approx(5e-8, rel=0.3)


def _passes(step: float, n: int = 3, spread: float = 0.01, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [[np.full(20, step * np.exp(rng.normal(0, spread)))] for _ in range(n)]


def test_a_crossover_is_found_and_said() -> None:
    xs = [16, 64, 256, 1024]
    a = [_passes(1e-3 + 4e-6 * x, seed=i) for i, x in enumerate(xs)]  # low fixed, high per-sample
    b = [_passes(3e-3 + 1e-6 * x, seed=9 + i) for i, x in enumerate(xs)]
    curve = crossovers.ratio_curve(xs, a, b)
    assert [p["side"] for p in curve] == ["a", "a", "a", "b"]
    words = crossovers.crossover_words(curve, "torch", "tf")
    assert words == "crossover: torch faster at batch 256 and below; tf faster from batch 1024"


def test_no_crossover_is_said() -> None:
    xs = [16, 64, 256]
    a = [_passes(1e-3, seed=i) for i in range(3)]
    b = [_passes(2e-3, seed=5 + i) for i in range(3)]
    words = crossovers.crossover_words(crossovers.ratio_curve(xs, a, b), "torch", "tf")
    assert words.startswith("no crossover in the swept range (batch 16–256): torch faster")
