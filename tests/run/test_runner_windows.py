"""The timing pass's structure, with a scripted worker: which figure comes from which steps.

The scripted worker gives each kind of request a distinct, known duration (synced training and
latency steps, cold windows, throughput windows), so the record shows exactly which steps fed
the throughput, the latency and the after-idle figure. No framework, no process: fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from bench.catalog import suites
from bench.measure import drift_reference, memory
from bench.run import runner as runner_module
from bench.run.cells import CellProgress
from bench.run.options import RunOptions
from bench.run.progress import PlainReporter
from bench.run.runner import Runner
from bench.run.store import RunDir
from bench.zoo.specs import Cell, Recipe, Settings

SYNCED_STEP = 0.003  # seconds per synced step (training pass and latency steps)
HOT_STEP = 0.001  # seconds per step inside a throughput window
COLD_STEP = 0.010  # seconds per step of the first window after the worker was idle


class ScriptedWorkers:
    """Stands in for the runner's :class:`bench.run.pool.CellWorkers`: every request is answered
    from the script above."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, int]] = []  # (cell key, op, steps)
        self.last_op: dict[str, str] = {}
        self.last_key = ""
        self.pids = iter(range(1000, 2000))

    def call(self, p: CellProgress, msg: dict[str, Any], what: str) -> dict[str, Any] | None:
        if p.status != "ok":
            return None
        op, key = msg["op"], p.cell.key
        n = int(msg.get("stop", 0)) - int(msg.get("start", 0))
        self.log.append((key, op, n))
        # cold: another cell's requests ran since this cell's last window (its worker idled)
        cold = self.last_op.get(key) != "window" or self.last_key != key
        self.last_op[key], self.last_key = op, key
        if op == "build":
            p.worker_pid = next(self.pids)
            return {"build_seconds": 0.01, "stock": bool(msg.get("stock"))}
        if op == "train":
            return {"times": np.full(n, SYNCED_STEP), "losses": np.ones(n, np.float32),
                    "round_seconds": n * SYNCED_STEP}  # fmt: skip
        if op == "window":
            return {"seconds": n * (COLD_STEP if cold else HOT_STEP), "losses": np.ones(n)}
        if op == "evaluate":
            return {"seconds": 0.0, "loss": 1.0, "accuracy": 0.5}
        if op == "memory":  # one MiB more each time: which reading a pass kept is visible
            return {"memory": memory.cell_memory(0, 2**20 * len(self.log), fresh_worker=True)}
        if op == "predict":
            return {"times": np.full(int(msg["n"]), 0.001)}
        return {}

    def close_all(self) -> None:
        self.last_op.clear()  # fresh processes: every first window is cold again

    def prestart(self, cells: list[CellProgress]) -> None:
        self.log.extend((p.cell.key, "prestart", 0) for p in cells)


class ScriptedRunner(Runner):
    """A Runner whose worker requests are answered from the script above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workers = ScriptedWorkers()  # type: ignore[assignment]
        self.log = self.workers.log


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[ScriptedRunner, list[dict]]:
    """One scripted run (two cells, three timing passes) shared by the tests below."""
    readings = iter([0.5, 0.45, 0.6, 0.9, 0.8, 0.7])  # start and end of each pass
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(drift_reference, "measure", lambda: next(readings))
        spec = suites.model_spec("mlp", "mnist1d", 10)  # no data: the worker is scripted
        patch.setattr(runner_module, "group_inputs", lambda cell, data_dir=None: (spec, {}))
        return _scripted_run(tmp_path_factory.mktemp("windows"))


def _scripted_run(tmp_path: Path) -> tuple[ScriptedRunner, list[dict]]:
    recipe = Recipe(steps=20, eval_every=10, warmup_steps=2, batch_size=100)
    cells = [Cell(fw, "mlp", "mnist1d", "test", recipe) for fw in ("torch", "tf")]
    options = RunOptions(timing_passes=3, pass_seconds=0.05, window_seconds=0.02,
                         cold_steps=10, latency_steps=30)  # fmt: skip
    reporter = PlainReporter(Console(file=open(os.devnull, "w")))  # noqa: SIM115
    runner = ScriptedRunner(RunDir.create(tmp_path / "run", {"run_id": "t"}), Settings(),
                            options, reporter)  # fmt: skip
    runner.run(cells)
    return runner, list(runner.run_dir.latest_by_key().values())


def test_throughput_comes_from_windows_and_latency_from_synced_steps(run: Any) -> None:
    _, records = run
    for r in records:
        t = r["throughput"]
        assert t["n_passes"] == 3
        assert t["median"] == pytest.approx(100 / HOT_STEP)  # windows only: cold steps excluded
        assert t["scope"] == "step"
        assert r["step_latency_ms"]["p50"] == pytest.approx(SYNCED_STEP * 1e3)
        for p in r["timing_passes"]:
            assert sum(p["window_seconds"]) >= 0.05 and len(p["window_steps"]) >= 2
            assert len(p["step_times_s"]) == 30 and p["warmup_times_s"]
            assert p["optimizer"] == "stock"  # the scripted worker grants what is asked


def test_cold_window_is_reported_apart(run: Any) -> None:
    _, records = run
    for r in records:
        cold = r["after_idle"]
        assert cold["median"] == pytest.approx(100 / COLD_STEP)
        assert cold["relative_to_windows"] == pytest.approx(HOT_STEP / COLD_STEP)
        assert len(cold["pass_values"]) == 3 and cold["steps"] == [10]


def test_each_framework_runs_one_contiguous_stretch_in_rotating_order(run: Any) -> None:
    runner, _ = run
    passes: list[list[str]] = []  # per timing pass, whose windows ran, one per stretch
    for key, op, n in runner.log:
        if op == "build" and (not passes or passes[-1]):
            passes.append([])  # a pass's builds come first
        if op == "window" and n > 2 and (not passes[-1] or passes[-1][-1] != key):  # 2: warm-up
            passes[-1].append(key)
    torch, tf = "torch/mlp/mnist1d", "tf/mlp/mnist1d"
    assert passes == [[torch, tf], [tf, torch], [torch, tf]]  # no interleaving; order rotates


def test_the_memory_sample_is_read_after_the_warm_up_before_the_timed_windows(run: Any) -> None:
    """Build and a fixed count of steps, not the windows: a window's staged batches grow with
    its length, which the time budget sets from the machine's speed."""
    runner, records = run
    ops: dict[str, list[tuple[str, int]]] = {}
    for key, op, n in runner.log:
        if op == "build":
            ops[key] = []
        if key in ops and op != "prestart":
            ops[key].append((op, n))
    for seq in ops.values():  # the last timing pass of each cell
        assert seq[:4] == [("build", 0), ("train", 2), ("window", 2), ("memory", 0)], seq
        assert ("memory", 0) not in seq[4:]
    for r in records:
        samples = [tp["memory"]["peak_above_baseline_bytes"] for tp in r["timing_passes"]]
        assert len(samples) == 3 and r["memory"]["steps"]["samples_bytes"] == samples


def test_every_record_carries_the_drift_reference(run: Any) -> None:
    _, records = run
    for r in records:
        ref = r["drift_reference"]
        assert ref["readings"] == [[0.5, 0.45], [0.6, 0.9], [0.8, 0.7]]
        assert ref["seconds"] == [0.45, 0.6, 0.7]  # the lower reading of each pass
        assert ref["workload"] == drift_reference.WORKLOAD


def test_a_stretch_of_a_slow_model_takes_fewer_cold_and_latency_steps() -> None:
    """Small models keep the options' counts; a model whose step costs seconds (ResNet-50 on a
    CPU) gets a cold window and latency steps cut to their time budgets, with floors of 2 and 5."""
    from bench.run.options import RunOptions, stretch_steps

    o = RunOptions(cold_steps=10, latency_steps=50)
    assert stretch_steps(0.001, o) == (10, 50)
    assert stretch_steps(0.0, o) == (10, 50)  # no warm-up figure: the options' counts
    assert stretch_steps(0.3, o) == (3, 16)
    assert stretch_steps(2.0, o) == (2, 5)
    assert stretch_steps(2.0, RunOptions(latency_steps=0)) == (2, 0)
