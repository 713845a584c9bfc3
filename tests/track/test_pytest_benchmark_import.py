"""pytest-benchmark files into the history: the real benchmarks' output, and refusals.

The slow test runs ``benchmarks/test_steps.py`` for real (one model, torch only, a few rounds)
so the importer is checked against the format pytest-benchmark actually writes, not a copy of it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run.results import SchemaError, validate
from bench.track.history import History
from bench.track.pytest_benchmark_import import import_pytest_benchmark
from tests.conftest import child_pytest_env, requires

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@requires("torch", "pytest_benchmark")
def test_real_benchmark_file_is_imported(tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    cmd = [
        sys.executable, "-m", "pytest", "benchmarks/test_steps.py",
        "-k", "torch and mlp and mnist1d", f"--benchmark-json={out}", "--benchmark-save-data",
        "-q", "-p", "no:cacheprovider", "--step-rounds", "10", "--step-threads", "1",
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env=child_pytest_env(), capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    history = History(tmp_path / "history.sqlite")
    n = import_pytest_benchmark(history, out)
    assert n == 3  # a training step, and inference at batch 100 and batch 1
    cells = history.cells()
    assert sorted(cells["key"]) == [
        "torch/mlp/mnist1d/infer", "torch/mlp/mnist1d/infer-b1", "torch/mlp/mnist1d/train",
    ]  # fmt: skip
    assert (cells["throughput"] > 0).all() and (cells["status"] == "ok").all()
    assert (cells["throughput_ci_low"] <= cells["throughput"]).all()
    run = history.runs().iloc[0]
    assert run["source"] == "pytest-benchmark" and run["run_id"].startswith("pytest-benchmark-")
    for record in history.records(run["run_id"]):
        validate(record)
        assert len(record["step_times_s"]) == 10 and min(record["step_times_s"]) > 0
        assert record["synthetic_data"] is False and record["framework"] == "torch"


@pytest.mark.parametrize(
    "text",
    [
        "not json at all",
        "[1, 2, 3]",
        json.dumps({"benchmarks": []}),
        json.dumps(
            {
                "machine_info": {},
                "commit_info": {},
                "datetime": "2026-01-01T00:00:00",
                "benchmarks": [
                    {"name": "test_x", "params": None, "stats": {"median": 0.1, "mean": 0.1}}
                ],
            }
        ),
    ],
    ids=["not-json", "a-list", "no-machine-info", "no-cell-params"],
)
def test_malformed_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(text, encoding="utf-8")
    history = History(tmp_path / "history.sqlite")
    with pytest.raises(SchemaError) as err:
        import_pytest_benchmark(history, path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert history.runs().empty, "nothing is written for a refused file"
