"""The precision view: bf16 vs fp32 per framework, speed-up and accuracy delta with intervals;
framework ratios and fairness checks never mix precisions; compare never matches them."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from bench.report import fairness, precision_view, ratios
from bench.report.cells import Run
from bench.track.compare import compare_runs
from bench.zoo.specs import Recipe
from tests.report.fakerun import fake_record

RECIPE = Recipe(steps=200, eval_every=50, warmup_steps=5)


def _record(framework: str, precision: str, slow: float, acc: float) -> dict[str, Any]:
    rng = np.random.default_rng(zlib.crc32(f"{framework}{precision}".encode()))
    r = fake_record("run", framework, "mlp", "mnist1d", RECIPE, np.ones(4), rng)
    for p in r["timing_passes"]:  # the reduced-precision cell's steps take `slow` x as long
        p["step_times_s"] = [t * slow for t in p["step_times_s"]]
    r["test_accuracy"] = acc
    r["precision"] = precision
    r["manifest"] = {**r["manifest"], "precision": precision}
    if precision != "fp32":
        r["key"] += f"@{precision}"
        dtypes = {"dense": "bfloat16", "batchnorm": "bfloat16", "loss": "float32"}
        if framework == "keras":
            dtypes["batchnorm"] = "bfloat16 (out); computed in float32"
        r["manifest"]["op_dtypes"] = dtypes
    return r


def run() -> Run:
    return Run(
        env={"run_id": "run"},
        records=[
            _record("torch", "fp32", 1.0, 0.70),
            _record("torch", "bf16", 0.5, 0.69),
            _record("keras", "fp32", 1.0, 0.71),
            _record("keras", "bf16", 1.0, 0.60),
        ],
    )


def test_speedup_and_accuracy_delta_per_framework() -> None:
    rows = {r["framework"]: r for r in precision_view.precision_rows(run())}
    assert set(rows) == {"torch", "keras"} and rows["torch"]["precision"] == "bf16"
    assert 1.6 < rows["torch"]["speedup_value"] < 2.5  # half the step time: about 2x
    assert 0.8 < rows["keras"]["speedup_value"] < 1.25
    assert rows["torch"]["speedup_ci"].startswith("[")
    assert rows["torch"]["accuracy_delta"] == "-1.00 pts" and rows["torch"]["holds"] is True
    assert rows["keras"]["holds"] is False  # 11 points lost


def test_no_view_without_two_precisions() -> None:
    only = Run(env={}, records=[r for r in run().records if r["precision"] == "fp32"])
    assert precision_view.precision_rows(only) == []


def test_op_dtype_differences_are_named() -> None:
    kinds, rows = precision_view.op_dtype_rows(run())
    assert kinds == ["dense", "batchnorm", "loss"]
    assert [name for name, _ in rows] == ["torch@bf16", "keras@bf16"]
    assert precision_view.differing_ops(run()) == ["batchnorm"]


def test_ratios_and_fairness_stay_within_one_precision() -> None:
    pairs = {(r["a"], r["b"]) for r in ratios.speed_ratios(run())}
    assert all(("@" in a) == ("@" in b) for a, b in pairs) and len(pairs) == 2
    assert fairness.disagreements(run()) == []  # precision differs by design, not unfairly


def test_compare_never_matches_two_precisions() -> None:
    fp32 = [r for r in run().records if r["precision"] == "fp32"]
    bf16 = [r for r in run().records if r["precision"] == "bf16"]
    out = compare_runs(fp32, bf16)
    assert out and all(c.verdict == "not comparable" for c in out)
