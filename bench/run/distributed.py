"""Data-parallel cells (``bench run --workers N``): launch the ranks, watch them, record.

Each framework trains on its own engine (``models/<family>/distributed.py``: torch DDP over gloo,
tf.distribute's MultiWorkerMirroredStrategy for tf and Keras-on-TF); this module only starts the
processes (one per rank, :mod:`bench.run.rank`), hands them a rendezvous address on the
loopback interface with free ports, and reads their result files. No framework is imported here.

Why a launcher of its own rather than ``torchrun``: tf has no launcher, and the suite must start,
time out and clean up both engines' ranks the same way. On several machines the ranks are started
by hand (or by torchrun / a TF_CONFIG per node) with the same rank driver, see
docs/distributed.md.

Per cell, the worker counts 1 and N run in the same invocation: scaling efficiency compares the
two, and both come from the same minutes of the same machine. Pass 1 of each worker count trains
the recipe (accuracy, curve) and then times; passes 2..P start fresh processes and time only. In
pass k the two worker counts run back to back (order rotating), so each pass gives one paired
throughput ratio and the efficiency's interval is a t interval over passes
(:func:`bench.measure.intervals.log_mean_ci`), as the single-process speed ratios.

Failure: a rank that exits or is killed fails its launch at once, naming the rank and its signal;
the other ranks are terminated (each rank is its own process group, so nothing it started
survives); a rendezvous that never completes, or a launch past ``--cell-timeout``, ends the same
way. The cell is recorded failed and the run goes on with the next cell.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench.catalog import suites
from bench.measure import drift_reference
from bench.measure.isolation import one_line
from bench.run.launch import DEFAULT_LAUNCH_TIMEOUT, LOOPBACK, LaunchResult, launch
from bench.run.scaling import scaling_efficiency
from bench.zoo.specs import Cell, Settings

SCALING_MODES = ("weak", "strong")
#: the variants with a models/<family>/distributed.py engine (keras: its TensorFlow backend)
DISTRIBUTED_FRAMEWORKS = ("torch", "tf", "keras")


@dataclass(frozen=True)
class DistOptions:
    """``--workers N --scaling weak|strong``: how a distributed run is shaped."""

    workers: int = 2
    scaling: str = "weak"

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {self.workers}")
        if self.scaling not in SCALING_MODES:
            raise ValueError(f"--scaling must be one of {SCALING_MODES}, got {self.scaling!r}")

    def counts(self) -> list[int]:
        """Worker counts a cell runs with: 1 (the baseline of the efficiency) and N."""
        return sorted({1, self.workers})


def global_batch(per_worker_or_global: int, workers: int, scaling: str) -> int:
    """The global batch at ``workers`` ranks: weak scaling keeps the per-worker batch (the
    recipe's) fixed, strong scaling keeps the global batch (the recipe's) fixed."""
    if scaling == "weak":
        return per_worker_or_global * workers
    if per_worker_or_global % workers:
        raise ValueError(
            f"strong scaling: batch {per_worker_or_global} does not split over {workers} workers"
        )
    return per_worker_or_global


def scaled_cell(cell: Cell, workers: int, scaling: str) -> Cell:
    """The cell with its recipe's batch set to the global batch at ``workers`` ranks."""
    batch = global_batch(cell.recipe.batch_size, workers, scaling)
    return replace(cell, recipe=replace(cell.recipe, batch_size=batch))


def record_key(cell: Cell, workers: int) -> str:
    """A distributed cell's key: the worker count is part of it, so ``bench compare`` never
    matches a 2-worker cell with a 1-worker one (or with a plain single-process cell)."""
    return f"{cell.key}@{workers}w"


def rank_job(scaled: Cell, settings: Settings, data_dir: str | None = None) -> dict[str, Any]:
    """What every rank of a cell needs, ``scaled`` being the cell with its global batch
    (:func:`scaled_cell`): the group's inputs as a single process with that batch gets them
    (weights, lr table, data, the global batch order), the settings (one intra-op thread per
    rank unless ``--threads`` says otherwise) and the rendezvous address."""
    from bench.run.cells import group_inputs

    _, inputs = group_inputs(scaled, data_dir)
    return {
        **inputs,
        "framework": scaled.framework,
        "settings": settings.to_dict(),
        "address": LOOPBACK,
    }


def allreduce_summary(times: list[float], n_floats: int, world: int) -> dict[str, Any] | None:
    """Median all-reduce time of a gradient-sized float32 buffer and its bandwidths: algorithm
    bandwidth = bytes / time, bus bandwidth = algbw × 2(N−1)/N (what a ring moves per link;
    the convention of nccl-tests, comparable across worker counts)."""
    if not times or world < 2:
        return None
    t = float(np.median(times))
    nbytes = 4 * n_floats
    algbw = nbytes / t
    return {
        "bytes": nbytes,
        "median_s": t,
        "repeats": len(times),
        "algbw_bytes_per_s": algbw,
        "busbw_bytes_per_s": algbw * 2 * (world - 1) / world,
    }


def pass_throughput(entry: dict[str, Any], batch: int) -> float:
    """A timing pass's throughput (samples/s): the step-weighted median of its windows."""
    per_step = np.repeat(
        np.asarray(entry["window_seconds"]) / np.asarray(entry["window_steps"]),
        entry["window_steps"],
    )
    return batch / float(np.median(per_step))


# -- the run -----------------------------------------------------------------------------------


class DistributedRunner:
    """Runs every cell at worker counts 1 and N, records each (cell, worker count)."""

    def __init__(self, runner: Any, dist: DistOptions) -> None:
        self.runner = runner  # bench.run.runner.Runner: its run dir, settings, options, reporter
        self.dist = dist
        #: called with (cell, workers, pass index, pids) once a launch's ranks are started
        self.on_started: Callable[[Cell, int, int, list[int]], None] | None = None

    def run(self, cells: list[Cell]) -> list[dict[str, Any]]:
        from bench.run.cells import CellProgress

        r = self.runner
        records: list[dict[str, Any]] = []
        r.reporter.start([c for c in cells for _ in self.dist.counts()])  # a record per count
        try:
            for cell in cells:
                records.extend(self._cell(cell, CellProgress))
        finally:
            r.reporter.stop()
        return records

    def _cell(self, cell: Cell, progress_cls: Any) -> list[dict[str, Any]]:
        r, o, d = self.runner, self.runner.options, self.dist
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        spec = suites.model_spec(cell.model, cell.dataset, suite=cell.suite)
        n_floats = spec_param_count(spec)
        budget = o.cell_timeout or DEFAULT_LAUNCH_TIMEOUT  # per cell and worker count
        spent = dict.fromkeys(d.counts(), 0.0)
        jobs: dict[int, dict[str, Any]] = {}  # per worker count, built once
        progress: dict[int, Any] = {}
        # per worker count, pass index → throughput: efficiency pairs the passes both ran
        throughputs: dict[int, dict[int, float]] = {n: {} for n in d.counts()}
        allreduce_s: list[float] = []  # every pass's timed all-reduces, pooled
        base = Path(tempfile.mkdtemp(prefix="dist-", dir=r.run_dir.path))
        passes = max(o.timing_passes, 1)
        for index in range(1, passes + 1):
            if index > len(r.drift_seconds):  # once per pass index: for bench compare's drift
                r.drift_seconds.append(drift_reference.measure())
            counts = d.counts() if index % 2 else d.counts()[::-1]  # rotate who goes first
            for n in counts:
                try:
                    scaled = scaled_cell(cell, n, d.scaling)
                    p = progress.setdefault(n, progress_cls(scaled, spec, now))
                    if n not in jobs and p.status == "ok":
                        jobs[n] = rank_job(scaled, r.settings, o.data_dir)
                except Exception as exc:  # bad batch split, unreadable data: this cell only
                    p = progress.setdefault(n, progress_cls(cell, spec, now))
                    p.status, p.error = "failed", one_line(exc)
                if p.status != "ok":
                    continue
                job = {**jobs[n]}
                job.update(
                    timing=o.timing_passes > 0,
                    window_seconds=o.window_seconds,
                    pass_seconds=o.pass_seconds,
                    allreduce_floats=n_floats if n > 1 else 0,
                )
                if index == 1:
                    job.update(train_steps=scaled.recipe.steps, eval_every=scaled.recipe.eval_every)
                left = max(budget - spent[n], 1.0)
                hook = self.on_started
                started = None if hook is None else partial(hook, cell, n, index)
                result = launch(job, n, base / f"w{n}-p{index}", left, on_started=started)
                spent[n] += result.seconds
                if result.status != "ok":
                    if index == 1:
                        p.status, p.error = result.status, result.error
                    else:
                        p.timing_notes.append(f"pass {index}: {result.status}: {result.error}")
                    continue
                self._absorb(p, result, index, throughputs[n], allreduce_s)
        out = []
        for n, p in progress.items():
            record = r._record(p, suites.ACCURACY_TARGETS.get((cell.model, cell.dataset)))
            record["key"] = record_key(cell, n)
            info = {
                "workers": n,
                "scaling": d.scaling,
                "per_worker_batch": p.cell.recipe.batch_size // n,
                "global_batch": p.cell.recipe.batch_size,
                **{k: v for k, v in p.manifest.get("distributed", {}).items()},
            }
            if n > 1:
                summary = allreduce_summary(allreduce_s, n_floats, n)
                info["allreduce"] = summary and {
                    **summary,
                    "engine": info.get("engine"),
                    "collective_backend": info.get("collective_backend"),
                }
                paired = sorted(set(throughputs[n]) & set(throughputs[1]))
                info["scaling_efficiency"] = scaling_efficiency(
                    [throughputs[n][k] for k in paired], [throughputs[1][k] for k in paired], n
                )
            record["distributed"] = info
            # top-level, where bench.track.series reads a record's worker count and scaling
            record["workers"], record["scaling"] = n, d.scaling
            record["manifest"] = {**record.get("manifest", {}), "distributed": info}
            r.run_dir.append(record)
            r._to_history(record)
            r.reporter.finished(record)
            out.append(record)
        return out

    def _absorb(
        self,
        p: Any,
        result: LaunchResult,
        index: int,
        throughputs: dict[int, float],
        allreduce_s: list[float],
    ) -> None:
        """A finished launch's figures into the cell's progress (rank 0 speaks for the cell:
        every rank takes the same synchronous steps)."""
        r0 = result.ranks[0]
        p.worker_pid = r0["pid"]
        p.manifest = {**r0["manifest"], "distributed": r0["engine"]}
        peak = max(rk["peak_rss_bytes"] for rk in result.ranks)
        p.finish = {"peak_rss_bytes": max(peak, p.finish.get("peak_rss_bytes", 0))}
        if index == 1:
            p.build_seconds = r0["build_seconds"]
            p.train_seconds = r0["train_seconds"]
            p.curve = r0["curve"]
            p.losses = [np.asarray(r0["losses"], np.float32)]
            p.round_sizes = r0["round_sizes"]
            p.step = len(r0["losses"])
            bad = np.flatnonzero(~np.isfinite(p.losses[0]))
            if bad.size:
                p.status, p.diverged_at_step = "diverged", int(bad[0])
                p.error = f"loss became {p.losses[0][bad[0]]} at step {int(bad[0])}"
            target = suites.ACCURACY_TARGETS.get((p.cell.model, p.cell.dataset))
            for point in p.curve:
                if target is not None and point["test_accuracy"] >= target:
                    p.time_to_accuracy_s = point["train_seconds"]
                    break
        if "window_steps" in r0:
            entry = {
                "pass": index,
                "worker_pid": r0["pid"],
                "scope": "step",
                "optimizer": "recipe",
                "window_steps": r0["window_steps"],
                "window_seconds": [round(s, 8) for s in r0["window_seconds"]],
                "window_seconds_max_rank": [
                    round(max(rk["window_seconds"][i] for rk in result.ranks), 8)
                    for i in range(len(r0["window_seconds"]))
                ],
                "step_times_s": [],
                "round_sizes": [],
                "warmup_steps": 0,
            }
            p.timing_passes.append(entry)
            throughputs[index] = pass_throughput(entry, p.cell.recipe.batch_size)
        allreduce_s.extend(r0.get("allreduce_s") or [])


def spec_param_count(spec: Any) -> int:
    from bench.catalog.architectures import param_count

    return int(param_count(spec))


# -- what the user sees ------------------------------------------------------------------------
