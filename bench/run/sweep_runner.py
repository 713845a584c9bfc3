"""The runner for a sweep's throughput points: the ordinary timing passes, no training pass.

A throughput point (:mod:`bench.run.sweep_plan`) is timed exactly like every other cell's speed
(:class:`bench.run.runner.Runner`'s timing passes: each pass a fresh worker per cell, warm-up,
a memory sample, a cold window, throughput windows, the order of frameworks rotating), but it is
never trained to accuracy, evaluated or asked for inference: its group "trains" by building the
inputs every worker is sent and nothing more. Its memory figure is therefore the timing passes'
own: the peak over the build and warm-up training steps in its fresh worker, above the
framework's post-import baseline (:mod:`bench.measure.memory`), named ``training-steps peak``.

The run's intra-op threads are one setting of every worker, so a sweep over threads runs one
:class:`SweepRunner` per thread count into the same run directory (:func:`run_points`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from bench.run.cells import CellProgress
from bench.run.options import RunOptions
from bench.run.progress import Reporter
from bench.run.runner import HistorySink, Runner
from bench.run.store import RunDir
from bench.run.sweep_inputs import point_inputs
from bench.run.sweep_plan import CUTS
from bench.zoo.specs import Cell, Settings

#: What every output calls a sweep point, so nobody reads it as a trained cell.
LABEL = "throughput point"
MEMORY_NAME = "training-steps peak above baseline (fresh worker, build + warm-up steps)"


def point_fields(cell: Cell) -> dict[str, Any]:
    """The record fields of a throughput point: what it is, its axis values and the cuts."""
    return {
        "threads": cell.threads,
        "seq_len": cell.seq_len,
        "batch_size": cell.recipe.batch_size,
        "model_size": "tiny" if cell.tiny else "full",
        "sweep": {
            "kind": LABEL,
            "batch_size": cell.recipe.batch_size,
            "threads": cell.threads,
            "seq_len": cell.seq_len,
            "tiny": cell.tiny,
            "cuts": {k: {"sweep": v[0], "suite": v[1]} for k, v in CUTS.items()},
            "memory_figure": MEMORY_NAME,
        },
    }


def sweep_options(options: RunOptions) -> RunOptions:
    """The run's options with a throughput point's cuts (:data:`~bench.run.sweep_plan.CUTS`)."""
    return replace(
        options,
        cold_steps=CUTS["cold_steps"][0],
        latency_steps=CUTS["latency_steps"][0],
        pass_min_windows=CUTS["min_windows"][0],
    )


class SweepRunner(Runner):
    """:class:`Runner` with the training pass replaced by building the group's inputs.

    ``memory_only``: each pass ends with the cells' memory samples, no stretch after them (the
    largest-batch search's tries, :mod:`bench.run.fit_search`: a try is its memory figure)."""

    def __init__(self, *args: Any, memory_only: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.memory_only = memory_only

    def _stretch(self, p: CellProgress) -> dict[str, Any]:
        if not self.memory_only:
            return super()._stretch(p)
        return {"cold": None, "window_steps": [], "window_seconds": [], "step_times_s": [],
                "round_sizes": [0], "warmup_steps": 0, "memory_only": True}  # fmt: skip

    def _run_group(self, cells: list[Cell]) -> list[dict[str, Any]]:
        spec, _ = self.inputs[cells[0].group] = point_inputs(cells[0], self.options.data_dir)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        records = []
        for cell in cells:
            p = CellProgress(cell, spec, now)
            self.trained[cell.key] = p  # timed by every pass; superseded (written) after each
            records.append(self._record(p, None))
        return records

    def _timing_pass(self, members: list[CellProgress], index: int) -> None:
        self.reporter.note(f"  pass {index}: {members[0].cell.group}")  # a sweep is long
        super()._timing_pass(members, index)

    def _record(self, p: CellProgress, target: float | None) -> dict[str, Any]:
        record = super()._record(p, target)
        record.update(point_fields(p.cell))
        if record.get("memory") and record["memory"].get("steps"):
            record["memory"]["steps"]["name"] = MEMORY_NAME
        return record


def run_points(
    run_dir: RunDir,
    settings: Settings,
    options: RunOptions,
    reporter: Reporter,
    cells: list[Cell],
    history: HistorySink | None = None,
    on_worker_started: Callable[[str, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Time every point, one :class:`SweepRunner` per thread count (in increasing order)."""
    records: list[dict[str, Any]] = []
    for threads in sorted({c.threads or settings.threads for c in cells}):
        todo = [c for c in cells if (c.threads or settings.threads) == threads]
        runner = SweepRunner(
            run_dir, replace(settings, threads=threads), sweep_options(options), reporter,
            on_worker_started, history,
        )  # fmt: skip
        if len({c.threads for c in cells}) > 1:
            reporter.note(f"{threads} intra-op thread{'s' * (threads != 1)}: {len(todo)} points")
        records += runner.run(todo)
    return records
