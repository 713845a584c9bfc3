"""The matrix: every cell trained in its framework's worker, then timed in fresh processes.

Cells that train the same model on the same data form a *group*. A group's cells train together
round by round (one round = ``recipe.eval_every`` synced steps), the frameworks' order rotating
each round, and each cell is evaluated between rounds (evaluation time kept out of training
time). That pass is for accuracy, the learning curve and time to accuracy.

Speed is measured in *timing passes*: after every group has trained, each pass starts fresh
worker processes, rebuilds every cell from its initial weights and lets each framework of a
group run one contiguous stretch in turn, the order rotating from pass to pass:

1. warm-up steps (tracing, allocator growth), synced and as a window, dropped;
2. a *cold window* of ``cold_steps`` steps right after the framework's idle gap (the other
   frameworks' turns), reported apart as the after-idle figure;
3. *throughput windows*: consecutive steps with one device sync at each window's end, about
   ``window_seconds`` each, for ``pass_seconds`` in all; each pass gives one figure;
4. ``latency_steps`` separately synced steps, for the p50/p90/p99 step latency.

Contiguous stretches, not short interleaved rounds: a thread pool waking from an idle gap pays
for a whole short round (torch -20 %, tf -45 % after 0.2 s; docs/measurement.md). Drift lands on
every framework alike: the order rotates across passes, and a framework-free reference
(:mod:`bench.measure.drift_reference`) timed at the start and the end of every pass goes into
every record for ``bench compare``. A cell's throughput and interval come from its passes (one
figure each, :mod:`bench.measure.timing`: back-to-back runs on a shared 2-core VM differed by
16-73 % while intervals from one process's steps were 2-4 % wide). Each pass supersedes the
record on disk.

Each cell of each pass runs in a worker that served no cell before, and reads its memory
sample after its warm-up (build and a fixed count of steps: :mod:`bench.measure.memory`).
Nothing is lost to one bad cell: a worker that dies, times out or diverges fails only its cell,
recorded with the reason; every finished cell is on disk the moment it finishes. This module is
the order of training and timing; cell state is :mod:`bench.run.cells`, budgets
:mod:`bench.run.options`, workers :class:`bench.run.pool.CellWorkers`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol

import numpy as np

from bench import data
from bench.catalog import flops, suites
from bench.catalog.architectures import param_count
from bench.measure import drift_reference
from bench.run import after_training
from bench.run.cells import CellProgress, group_inputs, groups
from bench.run.options import RunOptions, stretch_steps
from bench.run.pool import CellWorkers
from bench.run.progress import Reporter
from bench.run.record import build_record
from bench.run.store import RunDir
from bench.zoo.specs import Cell, ModelSpec, Settings


class HistorySink(Protocol):
    """Where each finished record is also sent (the history database, :mod:`bench.track.history`,
    which the command line opens: the runner sits below it and does not import it)."""

    def add_record(self, record: dict[str, Any]) -> Any: ...


class Runner:
    def __init__(
        self,
        run_dir: RunDir,
        settings: Settings,
        options: RunOptions,
        reporter: Reporter,
        on_worker_started: Callable[[str, int], None] | None = None,
        history: HistorySink | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.settings = settings
        self.options = options
        self.reporter = reporter
        self.workers = CellWorkers(run_dir.path / "logs", settings, options, on_worker_started)
        self.history = history
        self.trained: dict[str, CellProgress] = {}  # cells that finished training, for passes
        self.inputs: dict[str, tuple[ModelSpec, dict[str, Any]]] = {}  # per group, built once
        self.drift_seconds: list[float] = []  # the reference workload, one per timing pass
        self.drift_readings: list[list[float]] = []  # its two readings in each pass

    def run(self, cells: list[Cell]) -> list[dict[str, Any]]:
        if self.options.workers:  # data-parallel cells: their own launcher and passes
            from bench.run.distributed import DistOptions, DistributedRunner

            dist = DistOptions(self.options.workers, self.options.scaling)
            return DistributedRunner(self, dist).run(cells)
        records: list[dict[str, Any]] = []
        self.reporter.start(cells)
        try:
            if not self.options.timing_passes:  # the training pass is the timing pass
                self.drift_seconds.append(drift_reference.measure())
            for group in groups(cells):
                records.extend(self._run_group(group))
            for index in range(1, self.options.timing_passes + 1):
                if not self.trained:
                    break
                self.workers.close_all()  # every pass in fresh processes
                self.reporter.note(f"timing pass {index} of {self.options.timing_passes}")
                start = drift_reference.measure()  # workers closed: quiet
                for group in groups(cells):
                    members = [self.trained[c.key] for c in group if c.key in self.trained]
                    if members:
                        self.workers.close_all()  # each cell's memory sample: a fresh worker
                        self._timing_pass(members, index)
                self.workers.close_all()
                self.drift_readings.append([start, drift_reference.measure()])
                self.drift_seconds.append(drift_reference.pass_reading(self.drift_readings[-1]))
                records = [self._supersede(r) for r in records]
            if self.options.timing_passes and self.trained:
                self.run_dir.compact()
        finally:
            self.workers.close_all()
            self.reporter.stop()
        return records

    # -- one group -------------------------------------------------------------------------

    def _run_group(self, cells: list[Cell]) -> list[dict[str, Any]]:
        first = cells[0]
        spec, inputs = self.inputs[first.group] = group_inputs(first, self.options.data_dir)
        recipe = first.recipe
        target = suites.ACCURACY_TARGETS.get((first.model, first.dataset))
        if data.info(first.dataset).synthetic:
            target = None  # random labels: accuracy means nothing, so it has no target
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        active: list[CellProgress] = []
        records = []
        progresses = [CellProgress(cell, spec, now) for cell in cells]
        self.workers.prestart(progresses)  # the group's fresh workers import side by side
        for progress in progresses:
            if self.workers.call(progress, {"op": "build", **inputs}, "build") is not None:
                active.append(progress)
            else:
                records.append(self._finish(progress, target))

        self._rounds(
            active, records, target, lambda p: p.step >= recipe.steps, self._train_round,
            finish=False,
        )  # fmt: skip
        for p in list(active):
            after_training.inference(self.workers, p, self.options)
            after_training.optimum(self.workers, p)
        for p in active:
            records.append(self._finish(p, target))
            if p.status == "ok":
                self.trained[p.cell.key] = p
        return records

    def _rounds(
        self,
        active: list[CellProgress],
        records: list[dict[str, Any]],
        target: float | None,
        done: Callable[[CellProgress], bool],
        one_round: Callable[[CellProgress, int, int, float | None], None],
        finish: bool = True,
    ) -> None:
        """Advance every active cell round by round, rotating who goes first, until ``done``.

        A cell that fails leaves ``active`` and is written at once; with ``finish`` a cell that
        is done is written too, otherwise it stays for the next phase.
        """
        round_index = 0
        while active and not all(done(p) for p in active):
            start = active[0].step
            rotation = round_index % len(active)
            for p in active[rotation:] + active[:rotation]:
                stop = start + p.cell.recipe.eval_every
                if p.step < p.cell.recipe.steps:
                    stop = min(stop, p.cell.recipe.steps)
                one_round(p, start, stop, target)
            for p in [p for p in active if p.status != "ok" or (finish and done(p))]:
                active.remove(p)
                records.append(self._finish(p, target))
            round_index += 1

    def _timing_pass(self, members: list[CellProgress], index: int) -> None:
        """One timing pass of a group: rebuild each cell in a fresh worker, warm every cell up and
        read its memory sample, then let each run its stretch (module doc), the order rotated by
        the pass index. A failure costs the cell this pass only, and the record says so."""
        spec, inputs = self.inputs[members[0].cell.group]  # the training pass built them
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        build = {"op": "build", **inputs, "stock": self.options.stock_timing}
        trials, fresh = [], [CellProgress(p.cell, spec, now) for p in members]
        self.workers.prestart(fresh)
        for p, trial in zip(members, fresh, strict=True):
            reply = self.workers.call(trial, build, f"timing pass {index}")
            if reply is not None:
                trial.optimizer = "stock" if reply.get("stock") else "recipe"
                trials.append((p, trial))
            else:
                p.timing_notes.append(f"pass {index}: {trial.error}")
        warm: dict[str, np.ndarray] = {}
        samples: dict[str, dict[str, Any] | None] = {}
        for _, trial in trials:  # both paths traced: synced steps (Keras: fit) and windows
            warmup = max(trial.cell.recipe.warmup_steps, 1)
            reply = self.workers.call(trial, {"op": "train", "start": 0, "stop": warmup}, "warm-up")
            trial.step = warmup
            seconds = self._window(trial, warmup)
            trial.warm_step_seconds = (seconds or 0.0) / warmup
            warm[trial.cell.key] = reply["times"] if reply is not None else np.empty(0)
            # memory: build + a fixed count of steps; a window's staged batches scale with speed
            samples[trial.cell.key] = (self.workers.call(trial, {"op": "memory"}, "memory")
                                       or {}).get("memory")  # fmt: skip
            trial.idle_since = time.perf_counter()
        rotation = (index - 1) % max(len(trials), 1)
        for p, trial in trials[rotation:] + trials[:rotation]:
            entry = self._stretch(trial)
            if trial.status != "ok":
                p.timing_notes.append(f"pass {index}: {trial.status}: {trial.error}")
                continue
            if self.options.loop_steps:
                self._loop_window(p, trial, index)
            p.timing_passes.append(
                {
                    "pass": index,
                    "worker_pid": trial.worker_pid,
                    "started_at": now,
                    "scope": "step",
                    "optimizer": trial.optimizer,
                    "warmup_times_s": [round(float(t), 8) for t in warm[trial.cell.key]],
                    "memory": samples.get(trial.cell.key),
                    **entry,
                }
            )
            p.extra_timing_steps += sum(entry["window_steps"]) + len(entry["step_times_s"])

    def _loop_window(self, p: CellProgress, trial: CellProgress, index: int) -> None:
        """One loop-scope window (input pipeline included) of ``loop_steps`` steps."""
        start, stop = trial.step, trial.step + self.options.loop_steps
        reply = self.workers.call(trial, {"op": "loop", "start": start, "stop": stop}, "loop scope")
        if reply is None:
            p.timing_notes.append(f"pass {index}: loop scope: {trial.error}")
            trial.status, trial.error = "ok", None  # the step-scope figures of the pass stand
            return
        trial.step = stop
        batch = p.cell.recipe.batch_size
        p.loop_windows.append(
            {
                "pass": index,
                "scope": "loop",
                "steps": stop - start,
                "seconds": reply["seconds"],
                "samples_per_s": (stop - start) * batch / reply["seconds"],
            }
        )
        p.manifest = {**p.manifest, "pipeline": reply["pipeline"]}

    def _stretch(self, p: CellProgress) -> dict[str, Any]:
        """One framework's turn in a timing pass; its timing-pass entry (see the module doc)."""
        o = self.options
        cold_steps, latency_steps = stretch_steps(p.warm_step_seconds, o)
        idle = time.perf_counter() - p.idle_since
        cold = self._window(p, cold_steps)
        entry: dict[str, Any] = {
            "cold": {"steps": cold_steps, "seconds": cold, "idle_before_s": round(idle, 4)},
            "window_steps": [],
            "window_seconds": [],
        }
        per_step = (cold or 1.0) / cold_steps  # the first window's size; then re-estimated
        target = min(o.window_seconds, o.pass_seconds / max(o.pass_min_windows, 1))
        spent = 0.0
        while p.status == "ok" and len(entry["window_steps"]) < o.pass_max_windows:
            if spent >= o.pass_seconds and len(entry["window_steps"]) >= o.pass_min_windows:
                break
            n = int(min(max(target / per_step, cold_steps), 100_000))
            seconds = self._window(p, n)
            if seconds is None:
                break
            entry["window_steps"].append(n)
            entry["window_seconds"].append(round(seconds, 8))
            spent += seconds
            per_step = seconds / n
        times = np.empty(0)
        if latency_steps > 0:
            stop = p.step + latency_steps
            reply = self.workers.call(p, {"op": "train", "start": p.step, "stop": stop}, "latency")
            p.step = stop
            times = reply["times"] if reply is not None else times
        entry["step_times_s"] = [round(float(t), 8) for t in times]
        entry["round_sizes"] = [len(times)]
        entry["warmup_steps"] = 0
        p.idle_since = time.perf_counter()
        return entry

    def _window(self, p: CellProgress, n: int) -> float | None:
        """Steps ``p.step`` .. +n as one throughput window (one sync at its end); its seconds.
        The batch order repeats past the recipe's end."""
        reply = self.workers.call(
            p, {"op": "window", "start": p.step, "stop": p.step + n}, "timing"
        )
        if reply is None:
            return None
        p.step += n
        return float(reply["seconds"])

    def _supersede(self, record: dict[str, Any]) -> dict[str, Any]:
        """The cell's record rebuilt with the timing passes so far, appended durably (readers
        take a key's last record) and sent to the history."""
        p = self.trained.get(record["key"])
        if p is None:
            return record
        new = self._record(p, record.get("accuracy_target"))
        self.run_dir.append(new)
        self._to_history(new)
        return new

    def _train_round(self, p: CellProgress, start: int, stop: int, target: float | None) -> None:
        reply = self.workers.call(p, {"op": "train", "start": start, "stop": stop}, "train")
        if reply is None:
            return
        times, losses = reply["times"], reply["losses"]
        p.step_times.append(times)
        p.losses.append(losses)
        p.round_sizes.append(len(times))
        p.train_seconds += float(reply["round_seconds"])
        p.step = stop
        bad = np.flatnonzero(~np.isfinite(losses))
        if bad.size:
            p.status = "diverged"
            p.diverged_at_step = start + int(bad[0])
            p.error = f"loss became {losses[bad[0]]} at step {p.diverged_at_step}"
            return
        evaluate = {"op": "evaluate", "batch_size": self.options.eval_batch_size}
        evaluation = self.workers.call(p, evaluate, "evaluate")
        if evaluation is None:
            return
        p.eval_seconds += evaluation["seconds"]
        p.curve.append(
            {
                "step": stop,
                "train_seconds": p.train_seconds,
                "train_loss": float(np.mean(losses)),
                "test_loss": evaluation["loss"],
                "test_accuracy": evaluation["accuracy"],
                "test_samples": evaluation.get("samples"),
            }
        )
        if p.time_to_accuracy_s is None and target is not None and evaluation["accuracy"] >= target:
            p.time_to_accuracy_s = p.train_seconds
        self.reporter.advance(p.cell, stop)

    # -- talking to workers ----------------------------------------------------------------

    def _finish(self, p: CellProgress, target: float | None) -> dict[str, Any]:
        if p.status == "ok":
            p.finish = self.workers.call(p, {"op": "finish"}, "finish") or {}
        record = self._record(p, target)
        self.run_dir.append(record)  # durable first; the history is a second copy
        self._to_history(record)
        self.reporter.finished(record)
        return record

    def _record(self, p: CellProgress, target: float | None) -> dict[str, Any]:
        record = build_record(
            p,
            run_id=self.run_dir.run_id,
            device=self.settings.device,
            accuracy_target=target,
            param_count=param_count(p.spec),
            flops_forward=flops.forward_flops(p.spec),
            flops_train=flops.train_flops(p.spec),
            data_dir=self.options.data_dir,
        )
        record["precision"] = p.cell.precision  # bench.zoo.precision; part of the cell's key
        record["memory_format"] = self.settings.memory_format
        record["drift_reference"] = {
            "workload": drift_reference.WORKLOAD,
            "seconds": [round(s, 6) for s in self.drift_seconds],
        }
        if self.drift_readings:
            record["drift_reference"]["readings"] = [
                [round(s, 6) for s in pair] for pair in self.drift_readings
            ]
        return record

    def _to_history(self, record: dict[str, Any]) -> None:
        if self.history is None:
            return
        try:
            self.history.add_record(record)
        except sqlite3.Error as exc:
            self.reporter.note(f"history not updated for {record['key']}: {exc}")
