"""The matrix: every cell trained in its framework's worker, frameworks interleaved in rounds.

Cells that train the same model on the same data form a *group*. A group's cells advance together
round by round (one round = ``recipe.eval_every`` steps), the frameworks' order rotating each
round (A B C, B C A, ...), so a drift of a shared, noisy machine lands on every framework alike
and cancels in their ratios. Between rounds each cell is evaluated (evaluation time is kept out of
training time).

Speed is then measured again in *timing passes*: after every group has trained, each pass starts
fresh worker processes, rebuilds every cell from its initial weights and times a few interleaved
rounds per group. A cell's throughput and its interval come from those passes (one median per
pass; see :mod:`bench.timing`), so the interval holds what one process in one minute cannot
show: measured on a shared 2-core VM, back-to-back runs differed by 16-73 % while intervals
from the steps of one process were 2-4 % wide. Each pass supersedes the cell's record on disk.

Nothing is lost to one bad cell: a worker that dies, times out or diverges fails only its cell,
which is recorded with the reason; every finished cell is on disk the moment it finishes.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

import numpy as np

from bench import catalog, data, flops, stats, weights
from bench.architectures import param_count
from bench.frameworks import get_variant
from bench.history import History
from bench.pool import RequestTimeout, WorkerDied, WorkerError, WorkerHandle
from bench.record import build_record
from bench.schedules import lr_table
from bench.specs import Cell, ModelSpec, Settings
from bench.store import RunDir


class Reporter(Protocol):
    """Progress display (rich on a terminal, plain lines otherwise)."""

    def start(self, cells: list[Cell]) -> None: ...
    def advance(self, cell: Cell, step: int) -> None: ...
    def finished(self, record: dict[str, Any]) -> None: ...
    def note(self, message: str) -> None: ...
    def stop(self) -> None: ...


@dataclass
class RunOptions:
    cell_timeout: float | None = None  # seconds of worker time per cell; None: no limit
    target_half_width: float = 0.02  # a throughput CI within ±2% is recorded as converged
    timing_passes: int = 4  # fresh-process timing passes after training; 0: time training only
    pass_seconds: float = 5.0  # timing per group and pass (at least ``pass_min_rounds`` rounds)
    pass_min_rounds: int = 2
    pass_max_rounds: int = 20
    latency_calls: int = 200  # batch-1 inference calls
    inference_batch: int = 1000
    start_timeout: float = 600.0  # importing and configuring a framework
    eval_batch_size: int = 1000
    data_dir: str | None = None  # --data-dir: where datasets read from files are
    # each cell trained in a fresh worker, so its memory figure does not depend on what ran
    # before (costs one framework import per cell; timing passes are fresh per pass anyway)
    fresh_worker: bool = True
    # steps of one loop-scope window (the framework's input pipeline, see
    # models/<fw>/loop.py) per cell and timing pass, after its step-scope rounds; 0: none
    loop_steps: int = 0


@dataclass
class CellProgress:
    """What one cell has done so far, in the parent."""

    cell: Cell
    spec: ModelSpec
    started_at: str
    manifest: dict[str, Any] = field(default_factory=dict)
    baseline_rss_bytes: int | None = None
    worker_pid: int | None = None
    step: int = 0
    busy_seconds: float = 0.0  # worker time spent on this cell, for the time limit
    build_seconds: float = 0.0
    train_seconds: float = 0.0  # framework time in training rounds, evaluation excluded
    eval_seconds: float = 0.0
    step_times: list[np.ndarray] = field(default_factory=list)
    losses: list[np.ndarray] = field(default_factory=list)
    round_sizes: list[int] = field(default_factory=list)
    curve: list[dict[str, Any]] = field(default_factory=list)
    time_to_accuracy_s: float | None = None
    status: str = "ok"
    error: str | None = None
    diverged_at_step: int | None = None
    finish: dict[str, Any] = field(default_factory=dict)
    extra_timing_steps: int = 0
    inference: dict[str, Any] | None = None
    timing_passes: list[dict[str, Any]] = field(default_factory=list)
    timing_notes: list[str] = field(default_factory=list)
    loop_windows: list[dict[str, Any]] = field(default_factory=list)

    def remaining(self, limit: float | None) -> float | None:
        return None if limit is None else max(limit - self.busy_seconds, 0.001)


def groups(cells: Iterable[Cell]) -> list[list[Cell]]:
    """Cells grouped by (model, dataset), in first-seen order."""
    out: dict[str, list[Cell]] = {}
    for cell in cells:
        out.setdefault(cell.group, []).append(cell)
    return list(out.values())


def group_inputs(cell: Cell, data_dir: str | None = None) -> tuple[ModelSpec, dict[str, Any]]:
    """What every worker of a group is sent to build its cell: the spec, the canonical initial
    weights, the lr table, the data and the batch order — one copy, shared by all frameworks."""
    dataset = data.load(cell.dataset, data_dir=data_dir, seed=cell.seed)
    spec = catalog.model_spec(cell.model, cell.dataset, dataset.num_classes)
    recipe = cell.recipe
    return spec, {
        "spec": spec.to_dict(),
        "recipe": recipe.to_dict(),
        "weights": weights.init_weights(spec, cell.seed),
        "lr": lr_table(recipe),
        "x_train": data.as_model_input(dataset.x_train, spec.input_shape),
        "y_train": dataset.y_train,
        "x_test": data.as_model_input(dataset.x_test, spec.input_shape),
        "y_test": dataset.y_test,
        "order": data.train_order(dataset, recipe.batch_size, recipe.steps, cell.seed),
        "augment": data.augment_message(dataset, cell.seed),  # None: batches as they are
    }


class Runner:
    def __init__(
        self,
        run_dir: RunDir,
        settings: Settings,
        options: RunOptions,
        reporter: Reporter,
        on_worker_started: Callable[[str, int], None] | None = None,
        history: History | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.settings = settings
        self.options = options
        self.reporter = reporter
        self.workers: dict[str, WorkerHandle] = {}
        self.broken: dict[str, str] = {}  # variant → why its worker cannot start
        self.on_worker_started = on_worker_started
        self.history = history
        self.trained: dict[str, CellProgress] = {}  # cells that finished training, for passes
        self.inputs: dict[str, tuple[ModelSpec, dict[str, Any]]] = {}  # per group, built once

    def run(self, cells: list[Cell]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        self.reporter.start(cells)
        try:
            for group in groups(cells):
                records.extend(self._run_group(group))
            for index in range(1, self.options.timing_passes + 1):
                if not self.trained:
                    break
                self._close_workers()  # every pass in fresh processes
                self.reporter.note(f"timing pass {index} of {self.options.timing_passes}")
                for group in groups(cells):
                    members = [self.trained[c.key] for c in group if c.key in self.trained]
                    if members:
                        self._timing_pass(members, index)
                records = [self._supersede(r) for r in records]
            if self.options.timing_passes and self.trained:
                self.run_dir.compact()
        finally:
            self._close_workers()
            self.reporter.stop()
        return records

    def _close_workers(self) -> None:
        for handle in self.workers.values():
            handle.close()
        self.workers.clear()

    # -- one group -------------------------------------------------------------------------

    def _run_group(self, cells: list[Cell]) -> list[dict[str, Any]]:
        first = cells[0]
        spec, inputs = self.inputs[first.group] = group_inputs(first, self.options.data_dir)
        recipe = first.recipe
        target = catalog.ACCURACY_TARGETS.get((first.model, first.dataset))
        if data.info(first.dataset).synthetic:
            target = None  # random labels: accuracy means nothing, so it has no target
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        active: list[CellProgress] = []
        records = []
        for cell in cells:
            progress = CellProgress(cell, spec, now)
            if self._call(progress, {"op": "build", **inputs}, "build") is not None:
                active.append(progress)
            else:
                records.append(self._finish(progress, target))

        self._rounds(
            active, records, target, lambda p: p.step >= recipe.steps, self._train_round,
            finish=False,
        )  # fmt: skip
        for p in list(active):
            self._inference(p)
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
        """One timing pass of a group: rebuild each cell in its (fresh) worker from the initial
        weights, then interleaved rounds with a rotating order until ``pass_seconds`` (and at
        least ``pass_min_rounds`` rounds). A failure here costs the cell this pass only; its
        training results stand and the record says what happened."""
        spec, inputs = self.inputs[members[0].cell.group]  # the training pass built them
        recipe = members[0].cell.recipe
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        trials = []
        for p in members:
            trial = CellProgress(p.cell, spec, now)
            if self._call(trial, {"op": "build", **inputs}, f"timing pass {index}") is not None:
                trials.append((p, trial))
            else:
                p.timing_notes.append(f"pass {index}: {trial.error}")
        deadline = time.perf_counter() + self.options.pass_seconds
        rounds = 0
        while trials:
            rotation = rounds % len(trials)
            for _, trial in trials[rotation:] + trials[:rotation]:
                self._timing_round(trial, trial.step, trial.step + recipe.eval_every, None)
            for p, trial in [(p, t) for p, t in trials if t.status != "ok"]:
                p.timing_notes.append(f"pass {index}: {trial.status}: {trial.error}")
                trials.remove((p, trial))
            rounds += 1
            if rounds >= self.options.pass_max_rounds or (
                rounds >= self.options.pass_min_rounds and time.perf_counter() >= deadline
            ):
                break
        if self.options.loop_steps:
            for p, trial in trials:
                self._loop_window(p, trial, index)
        for p, trial in trials:
            times = np.concatenate(trial.step_times)
            warmup = min(recipe.warmup_steps, max(len(times) - 1, 0))
            p.timing_passes.append(
                {
                    "pass": index,
                    "worker_pid": trial.worker_pid,
                    "started_at": now,
                    "warmup_steps": warmup,
                    "step_times_s": [round(float(t), 8) for t in times],
                    "round_sizes": trial.round_sizes,
                }
            )
            p.extra_timing_steps += len(times) - warmup

    def _loop_window(self, p: CellProgress, trial: CellProgress, index: int) -> None:
        """One loop-scope window (input pipeline included) of ``loop_steps`` steps."""
        start, stop = trial.step, trial.step + self.options.loop_steps
        reply = self._call(trial, {"op": "loop", "start": start, "stop": stop}, "loop scope")
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

    def _timing_round(self, p: CellProgress, start: int, stop: int, target: float | None) -> None:
        """Timed steps of a timing pass; the batch order repeats past the recipe's end."""
        reply = self._call(p, {"op": "train", "start": start, "stop": stop}, "timing")
        if reply is None:
            return
        p.step_times.append(reply["times"])
        p.round_sizes.append(len(reply["times"]))
        p.step = stop

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

    def _inference(self, p: CellProgress) -> None:
        """Batch-1 latency and large-batch throughput, in inference mode."""
        small = self._call(p, {"op": "predict", "batch_size": 1, "n": self.options.latency_calls},
                           "inference")  # fmt: skip
        large = self._call(
            p, {"op": "predict", "batch_size": self.options.inference_batch, "n": 30}, "inference"
        )
        if small is None or large is None:
            return
        batch1 = stats.latency_summary(small["times"][5:])
        big = stats.summarize_steps(large["times"], self.options.inference_batch, None, 3)
        p.inference = {
            "batch1_latency_ms": batch1,
            "large_batch": {"batch_size": self.options.inference_batch, **big["throughput"]},
        }

    def _train_round(self, p: CellProgress, start: int, stop: int, target: float | None) -> None:
        reply = self._call(p, {"op": "train", "start": start, "stop": stop}, "train")
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
        evaluation = self._call(p, {"op": "evaluate", "batch_size": self.options.eval_batch_size},
                                "evaluate")  # fmt: skip
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
            }
        )
        if p.time_to_accuracy_s is None and target is not None and evaluation["accuracy"] >= target:
            p.time_to_accuracy_s = p.train_seconds
        self.reporter.advance(p.cell, stop)

    # -- talking to workers ----------------------------------------------------------------

    def _worker(self, p: CellProgress, what: str = "build") -> WorkerHandle:
        variant = p.cell.framework
        if variant in self.broken:
            raise WorkerError(self.broken[variant])
        handle = self.workers.get(variant)
        if handle is not None and not handle.alive():
            self._drop_worker(variant)  # died between two requests
            if what != "build" and handle.cell_key == p.cell.key:  # and took this cell with it
                raise WorkerDied(handle.exit_description())
            handle = None
        if handle is not None and what == "build" and self.options.fresh_worker and handle.cell_key:
            self._drop_worker(variant, close=True)  # the training build gets a fresh worker
            handle = None
        if handle is None:
            get_variant(variant)  # unknown names were refused before the run; this is a guard
            try:
                logs = self.run_dir.path / "logs"
                logs.mkdir(exist_ok=True)
                handle = WorkerHandle(
                    variant,
                    self.settings.to_dict(),
                    self.options.start_timeout,
                    logs / f"{variant.replace(':', '-')}.log",
                )
            except WorkerDied as exc:  # killed while starting (a signal): the next cell retries
                raise WorkerDied(f"{variant} could not start: {exc}") from None
            except WorkerError as exc:  # the framework itself cannot start: not retried
                self.broken[variant] = f"{variant} could not start: {exc}"
                raise WorkerError(self.broken[variant]) from None
            self.workers[variant] = handle
            if self.on_worker_started is not None and handle.pid is not None:
                self.on_worker_started(variant, handle.pid)
        p.manifest = handle.hello["manifest"]
        p.baseline_rss_bytes = handle.hello["baseline_rss_bytes"]
        p.worker_pid = handle.pid
        return handle

    def _call(self, p: CellProgress, msg: dict[str, Any], what: str) -> dict[str, Any] | None:
        """One request for cell ``p``; on any failure, mark the cell and return None."""
        if p.status != "ok":
            return None
        t0 = time.perf_counter()
        try:
            handle = self._worker(p, what)
            reply = handle.request(msg, p.remaining(self.options.cell_timeout))
            if msg["op"] == "build":
                handle.cell_key = p.cell.key
        except RequestTimeout:
            self._drop_worker(p.cell.framework)
            p.status = "timeout"
            p.error = f"stopped after the {self.options.cell_timeout:g} s cell time limit ({what})"
            return None
        except WorkerDied as exc:
            self._drop_worker(p.cell.framework)
            p.status, p.error = "failed", f"{exc} during {what}"
            return None
        except WorkerError as exc:
            p.status, p.error = "failed", str(exc)
            return None
        finally:
            p.busy_seconds += time.perf_counter() - t0
        if what == "build":
            p.build_seconds = reply["build_seconds"]
        return reply

    def _drop_worker(self, variant: str, close: bool = False) -> None:
        handle = self.workers.pop(variant, None)
        if handle is not None:
            handle.close() if close else handle.kill()

    def _finish(self, p: CellProgress, target: float | None) -> dict[str, Any]:
        if p.status == "ok":
            p.finish = self._call(p, {"op": "finish"}, "finish") or {}
        record = self._record(p, target)
        self.run_dir.append(record)  # durable first; the history is a second copy
        self._to_history(record)
        self.reporter.finished(record)
        return record

    def _record(self, p: CellProgress, target: float | None) -> dict[str, Any]:
        return build_record(
            p,
            run_id=self.run_dir.run_id,
            device=self.settings.device,
            accuracy_target=target,
            param_count=param_count(p.spec),
            flops_forward=flops.forward_flops(p.spec),
            flops_train=flops.train_flops(p.spec),
            data_dir=self.options.data_dir,
        )

    def _to_history(self, record: dict[str, Any]) -> None:
        if self.history is None:
            return
        try:
            self.history.add_record(record)
        except sqlite3.Error as exc:
            self.reporter.note(f"history not updated for {record['key']}: {exc}")


def finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
