"""Nothing lost: SIGKILL of a worker, resume, time limits, divergence, concurrent history.

These run real (short) torch training in worker processes, so they are marked slow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from rich.console import Console

from bench.run.options import RunOptions
from bench.run.progress import PlainReporter
from bench.run.runner import Runner
from bench.run.store import RunDir
from bench.track.history import History
from bench.zoo.specs import Cell, Recipe, Settings
from tests.conftest import requires

pytestmark = [pytest.mark.slow, requires("torch")]
ROOT = Path(__file__).resolve().parents[2]


def bench(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "bench", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def only_run_dir(out: Path) -> Path:
    dirs = [p for p in out.iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def keys(run_dir: Path) -> list[str]:
    return [r["key"] for r in RunDir(run_dir).records()]


def _started_after(process: psutil.Process, when: float) -> bool:
    """A multiprocessing worker started after ``when`` (a closing one may vanish meanwhile)."""
    try:
        return "spawn_main" in " ".join(process.cmdline()) and process.create_time() >= when - 1
    except psutil.Error:
        return False


def test_sigkill_mid_run_loses_nothing_and_resume_completes(tmp_path: Path) -> None:
    out = tmp_path / "results"
    # two cells, each in a fresh worker: mlp, then cnn (the kill lands in its worker, found the
    # moment it starts, seconds before its torch import is done: 400 steps are plenty)
    proc = bench("run", "--frameworks", "torch", "--models", "mlp,cnn", "--dataset",
                 "mnist1d", "--steps", "400", "--eval-every", "100", "--no-report",
                 "--timing-passes", "2", "--pass-seconds", "0.2", "--out", str(out),
                 cwd=tmp_path)  # fmt: skip
    deadline = time.monotonic() + 180
    results = None
    while time.monotonic() < deadline:
        dirs = list(out.glob("*/results.jsonl")) if out.exists() else []
        if dirs and dirs[0].read_text().count("\n") >= 1:
            results = dirs[0]
            break
        time.sleep(0.05)
    assert results is not None, "the first cell never finished"
    # each cell trains in a fresh worker: wait for the cnn's, started after the mlp's record
    first_done = time.time()
    workers: list[psutil.Process] = []
    while not workers and time.monotonic() < deadline:
        workers = [c for c in psutil.Process(proc.pid).children() if _started_after(c, first_done)]
        time.sleep(0.05)
    assert workers, "no worker process found for the cnn"
    workers = psutil.Process(proc.pid).children()
    for w in workers:
        w.send_signal(signal.SIGKILL)
    output, _ = proc.communicate(timeout=180)
    assert "Traceback" not in output, output
    assert proc.returncode == 1, output  # a cell failed; the run itself finished

    run_dir = only_run_dir(out)
    # the one end-to-end run that measures the machine (the others pass --no-calibrate)
    calibration = RunDir(run_dir).env()["calibration"]
    assert calibration["matmul_gflops"]["torch"] > 0 and calibration["matmul_gflops"]["numpy"] > 0
    assert calibration["memory_bandwidth_gbs"] > 0 and not calibration["errors"]
    records = {r["key"]: r for r in RunDir(run_dir).records()}
    assert records["torch/mlp/mnist1d"]["status"] == "ok"
    killed = records["torch/cnn/mnist1d"]
    assert killed["status"] == "failed"
    assert "SIGKILL" in killed["error"]

    resumed = bench("run", "--resume", str(run_dir), "--no-report", cwd=tmp_path)
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    assert "1 to run" in output
    final = keys(run_dir)
    assert sorted(final) == ["torch/cnn/mnist1d", "torch/mlp/mnist1d"]  # each exactly once
    records = RunDir(run_dir).records()
    assert all(r["status"] == "ok" for r in records)
    # the resumed cell got its timing passes too (the run's pass count came from env.json)
    assert [r["throughput"]["n_passes"] for r in records] == [2, 2]


def _run(tmp_path: Path, cells: list[Cell], timeout: float | None = None) -> list[dict]:
    run_dir = RunDir.create(tmp_path / "run", {"run_id": "t"})
    reporter = PlainReporter(Console(file=open(os.devnull, "w")))  # noqa: SIM115
    # no timing passes: under load they could eat the short cell's own time limit
    options = RunOptions(cell_timeout=timeout, timing_passes=0)
    runner = Runner(run_dir, Settings(threads=1), options, reporter)
    runner.run(cells)
    return run_dir.records()


def test_cell_timeout_stops_the_cell_and_the_rest_goes_on(tmp_path: Path) -> None:
    slow = Recipe(steps=200_000, eval_every=100_000)
    quick = Recipe(steps=20, eval_every=10)
    cells = [
        Cell("torch", "cnn", "mnist1d", "test", slow),
        Cell("torch", "mlp", "digits", "test", quick),
    ]
    records = {r["key"]: r for r in _run(tmp_path, cells, timeout=20)}
    assert records["torch/cnn/mnist1d"]["status"] == "timeout"
    assert "20 s cell time limit" in records["torch/cnn/mnist1d"]["error"]
    assert records["torch/mlp/digits"]["status"] == "ok"


def test_timing_passes_run_in_fresh_processes_and_supersede_the_record(tmp_path: Path) -> None:
    recipe = Recipe(steps=40, eval_every=10, warmup_steps=2)
    cells = [Cell("torch", m, "mnist1d", "test", recipe) for m in ("logreg", "mlp")]
    run_dir = RunDir.create(tmp_path / "run", {"run_id": "t"})
    reporter = PlainReporter(Console(file=open(os.devnull, "w")))  # noqa: SIM115
    options = RunOptions(
        timing_passes=3,
        pass_seconds=0.05,
        pass_min_windows=2,
        latency_steps=20,
        window_seconds=0.05,
    )
    Runner(run_dir, Settings(threads=1), options, reporter).run(cells)
    lines = run_dir.results_path.read_text().splitlines()
    assert len(lines) == 2  # superseding records compacted away at the end
    for r in run_dir.records():
        passes = r["timing_passes"]
        assert [p["pass"] for p in passes] == [1, 2, 3]
        pids = {p["worker_pid"] for p in passes} | {r["worker_pid"]}
        assert len(pids) == 4  # the training process and three fresh ones
        assert all(sum(p["round_sizes"]) == len(p["step_times_s"]) == 20 for p in passes)
        assert all(len(p["window_seconds"]) >= 2 for p in passes)
        t = r["throughput"]
        assert t["n_passes"] == 3 and len(t["pass_medians"]) == 3
        assert t["ci_low"] <= t["median"] <= t["ci_high"]
        assert "3 timing passes" in t["method"]
        assert r["extra_timing_steps"] == sum(
            len(p["step_times_s"]) + sum(p["window_steps"]) for p in passes
        )
        assert r["test_accuracy"] is not None  # the training figures are kept


def test_divergence_is_recorded_with_its_step(tmp_path: Path) -> None:
    exploding = Recipe(optimizer="sgd", lr=1e6, steps=200, eval_every=50)
    records = _run(tmp_path, [Cell("torch", "mlp", "mnist1d", "test", exploding)])
    (r,) = records
    assert r["status"] == "diverged"
    assert 0 <= r["diverged_at_step"] < 200
    assert f"at step {r['diverged_at_step']}" in r["error"]
    assert r["losses"][r["diverged_at_step"]] is None  # the non-finite loss, stored as null


def test_two_runs_into_one_history_both_complete(tmp_path: Path) -> None:
    history = tmp_path / "shared.sqlite"
    procs = [
        bench(
            "run",
            "--frameworks",
            "torch",
            "--models",
            "mlp,logreg",
            "--steps",
            "60",
            "--eval-every",
            "20",
            "--timing-passes",
            "1",
            "--pass-seconds",
            "0.2",
            "--no-report",
            "--no-calibrate",  # the sigkill test's run measures it; this one is about the history
            "--out",
            str(tmp_path / f"out{i}"),
            "--history",
            str(history),
            cwd=tmp_path,
        )
        for i in range(2)
    ]
    for p in procs:
        output, _ = p.communicate(timeout=300)
        assert p.returncode == 0, output
    db = History(history)
    runs = db.runs()
    assert len(runs) == 2
    cells = db.cells()
    # (logreg, mlp on mnist1d) per run, each once although the timing pass superseded its
    # training record
    assert len(cells) == 2 * 2
    assert set(cells.groupby("run_id").size()) == {2}
    run_ids = [only_run_dir(tmp_path / f"out{i}").name for i in range(2)]
    assert sorted(run_ids) == sorted(runs["run_id"])
    assert json.loads(json.dumps(db.records(run_ids[0])))[0]["status"] == "ok"


class _KillAfterFirstRound(PlainReporter):
    """Kills the cell's worker after its first evaluated round, while the parent is between two
    requests, and waits until it is gone."""

    def __init__(self) -> None:
        super().__init__(Console(file=open(os.devnull, "w")))  # noqa: SIM115
        self.pids: dict[str, int] = {}
        self.killed = False

    def worker_started(self, variant: str, pid: int) -> None:
        self.pids[variant] = pid

    def advance(self, cell: Cell, step: int) -> None:
        super().advance(cell, step)
        if not self.killed:
            self.killed = True
            worker = psutil.Process(self.pids[cell.framework])
            worker.send_signal(signal.SIGKILL)
            deadline = time.monotonic() + 30  # dead, not reaped: the runner reads its exit
            while worker.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
                time.sleep(0.01)


def test_a_worker_killed_between_requests_is_recorded_as_killed(tmp_path: Path) -> None:
    run_dir = RunDir.create(tmp_path / "run", {"run_id": "t"})
    reporter = _KillAfterFirstRound()
    runner = Runner(run_dir, Settings(threads=1), RunOptions(timing_passes=0), reporter,
                    on_worker_started=reporter.worker_started)  # fmt: skip
    runner.run([Cell("torch", "mlp", "mnist1d", "test", Recipe(steps=40, eval_every=10))])
    (r,) = run_dir.records()
    assert reporter.killed
    assert r["status"] == "failed"
    assert "killed by SIGKILL" in r["error"], r["error"]
    assert "no cell built" not in r["error"]
