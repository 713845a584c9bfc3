"""``bench run --workers N`` end to end: records, scaling, a killed rank, the CLI's refusals."""

from __future__ import annotations

import io
import os
import signal
import time
from contextlib import redirect_stderr
from pathlib import Path

import psutil
import pytest
from rich.console import Console

from bench.cli import main
from bench.run.distributed import record_key
from bench.run.options import RunOptions
from bench.run.progress import PlainReporter
from bench.run.runner import Runner
from bench.run.scaling import scaling_efficiency, scaling_table
from bench.run.store import RunDir
from bench.track.compare import compare_runs
from bench.zoo.specs import Cell, Recipe, Settings
from tests.conftest import requires


def cli_error(*argv: str) -> str:
    err = io.StringIO()
    with redirect_stderr(err):
        code = main(["run", "--no-history", "--no-report", "--no-calibrate", *argv])
    assert code == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scaling", "strong"], "--scaling needs --workers N"),
        (["--workers", "2", "--frameworks", "torch:compile"], "--workers runs torch, tf, keras"),
        (
            ["--workers", "3", "--scaling", "strong", "--batch-size", "100"],
            "batch 100 does not split over 3 workers",
        ),
        (["--workers", "0"], "0 must be greater than 0"),
    ],
)
def test_bad_distributed_options_are_one_line_and_exit_2(
    argv: list[str], message: str, tmp_path: Path
) -> None:
    line = cli_error(*argv, "--models", "mlp", "--dataset", "mnist1d", "--out", str(tmp_path))
    assert message in line
    assert not list(tmp_path.iterdir())  # refused before a run directory was made


def test_scaling_efficiency_pairs_passes_and_has_an_interval() -> None:
    perfect = scaling_efficiency([200.0, 220.0, 180.0], [100.0, 110.0, 90.0], 2)
    assert perfect is not None
    assert perfect["estimate"] == pytest.approx(1.0)
    half = scaling_efficiency([100.0, 120.0, 95.0], [100.0, 110.0, 100.0], 2)
    assert half is not None
    assert half["ci_low"] < half["estimate"] < half["ci_high"] < 0.7
    assert scaling_efficiency([], [1.0], 2) is None


@pytest.mark.slow
@requires("torch")
def test_a_killed_rank_fails_its_cell_and_the_run_goes_on(tmp_path: Path) -> None:
    recipe = Recipe(optimizer="sgd", lr=0.05, batch_size=32, steps=40, eval_every=20)
    cells = [Cell("torch", m, "mnist1d", "quick", recipe) for m in ("logreg", "mlp")]
    run_dir = RunDir.create(tmp_path / "run", {"run_id": "t"})
    reporter = PlainReporter(Console(file=io.StringIO()))
    options = RunOptions(workers=2, timing_passes=2, pass_seconds=0.3, window_seconds=0.15,
                         cell_timeout=240)  # fmt: skip
    runner = Runner(run_dir, Settings(threads=1), options, reporter)
    victims: list[int] = []

    def kill_logreg_rank_1(cell: Cell, workers: int, index: int, pids: list[int]) -> None:
        if cell.model != "logreg" or workers != 2 or index != 1:
            return
        deadline = time.monotonic() + 120
        while not list(run_dir.path.glob("dist-*/w2-p1/rank1.ready")):  # joined: training
            assert time.monotonic() < deadline, "rank 1 never joined"
            time.sleep(0.02)
        os.kill(pids[1], signal.SIGKILL)
        victims.append(pids[1])

    from bench.run.distributed import DistOptions, DistributedRunner

    dist = DistributedRunner(runner, DistOptions(2, "weak"))
    dist.on_started = kill_logreg_rank_1
    records = {r["key"]: r for r in dist.run(cells)}

    assert set(records) == {record_key(c, n) for c in cells for n in (1, 2)}
    killed = records["torch/logreg/mnist1d@2w"]
    assert killed["status"] == "failed"
    assert f"rank 1 (pid {victims[0]}) was killed by SIGKILL" in killed["error"]
    assert psutil.Process().children(recursive=True) == []  # no rank outlived its launch
    for key in ("torch/logreg/mnist1d@1w", "torch/mlp/mnist1d@1w", "torch/mlp/mnist1d@2w"):
        assert records[key]["status"] == "ok", records[key]["error"]
    two = records["torch/mlp/mnist1d@2w"]
    info = two["distributed"]
    assert info["workers"] == 2 and info["scaling"] == "weak"
    assert info["global_batch"] == 64 and info["per_worker_batch"] == 32
    assert info["collective_backend"] == "gloo"
    assert "DistributedDataParallel" in info["engine"]
    assert two["manifest"]["distributed"] == info  # in the fairness manifest
    assert (two["workers"], two["scaling"]) == (2, "weak")  # the history's series key
    assert two["recipe"]["batch_size"] == 64
    assert two["manifest"]["threads_intra"] == 1
    eff = info["scaling_efficiency"]
    assert eff["n_pairs"] == 2 and eff["ci_low"] < eff["estimate"] < eff["ci_high"]
    assert info["allreduce"]["bytes"] == 4 * two["param_count"]
    assert info["allreduce"]["busbw_bytes_per_s"] > 0
    assert len(two["timing_passes"]) == 2 and two["throughput"]["n_passes"] == 2
    assert len(two["drift_reference"]["seconds"]) == 2  # one per pass, for compare's drift
    assert two["curve"][-1]["step"] == 40 and two["test_accuracy"] is not None
    table = scaling_table(list(records.values()))
    assert "torch/mlp/mnist1d | 2 | 64 |" in table and "SIGKILL" in table

    # bench compare keys cells by worker count: 1 and 2 workers never meet as one cell
    one = records["torch/mlp/mnist1d@1w"]
    verdicts = {c.key: c for c in compare_runs([one], [two])}
    assert set(verdicts) == {"torch/mlp/mnist1d@1w", "torch/mlp/mnist1d@2w"}
    assert all(c.verdict == "not comparable" for c in verdicts.values())
