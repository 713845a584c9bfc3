"""The scikit-learn reference end to end: ``bench run --frameworks sklearn,torch --models logreg``
as README shows it, short but real (MNIST-1D, 300 steps, two short timing passes): both cells
finish, the reference's record carries its flag, timed throughput and fitted optimum, the console
marks both of its rows "reference" and ranks torch alone, and the report holds the two reference
rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import requires

ROOT = Path(__file__).resolve().parents[2]
BENCH = "import sys; from bench.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.slow
@pytest.mark.framework
@requires("torch", "sklearn")
def test_bench_run_with_the_sklearn_reference(tmp_path: Path) -> None:
    out, reports = tmp_path / "results", tmp_path / "reports"
    command = [sys.executable, "-c", BENCH, "run", "--frameworks", "sklearn,torch",
               "--models", "logreg", "--dataset", "mnist1d", "--steps", "300",
               "--eval-every", "100", "--timing-passes", "2", "--pass-seconds", "0.5",
               "--threads", "1", "--no-history", "--no-calibrate", "--out", str(out),
               "--report-dir", str(reports)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "250"}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    (results,) = out.glob("*/results.jsonl")
    latest = {r["key"]: r for r in map(json.loads, results.read_text().splitlines())}
    reference, torch = latest["sklearn/logreg/mnist1d"], latest["torch/logreg/mnist1d"]
    assert reference["status"] == torch["status"] == "ok", output
    assert reference["reference"] is True and torch["reference"] is False
    assert reference["tier"] == "reference"
    # timed like any cell: two timing passes, a throughput median inside its interval
    tp = reference["throughput"]
    assert tp["n_passes"] == 2 and tp["ci_low"] <= tp["median"] <= tp["ci_high"]
    optimum = reference["optimum"]
    assert optimum["estimator"] == "LogisticRegression" and optimum["C"] == "inf"
    assert optimum["converged"] is True and optimum["fit_seconds"] > 0
    # the same weights and batches: the stepped form and torch end within a point of each other
    assert abs(reference["test_accuracy"] - torch["test_accuracy"]) <= 0.01
    lines = [line for line in done.stdout.splitlines() if "logreg/mnist1d" in line and "│" in line]
    rows = {line.split("│")[2].strip(): line for line in lines}
    assert "reference" in rows["sklearn"] and "reference" in rows["sklearn optimum"], output
    assert "1.00x" in rows["torch"], output  # ranked alone
    (page,) = reports.glob("*/index.html")
    assert page.read_text(encoding="utf-8").count('class="cell reference"') == 2
