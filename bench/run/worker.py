"""The child process that runs one framework: build, train in rounds, evaluate, report.

The parent (:mod:`bench.run.runner`) talks to it over a pipe with small dict messages; the worker is
the only place a framework is imported. One worker serves every cell of its framework in a run, so
the framework is imported once, and its thread pool and memory never touch another framework's
figures. Peak RSS is reset at the start of each cell, but a reused worker's resident set is its
allocator's history (a bigger model's freed arenas stay mapped), so the runner can give each cell a
fresh worker (``RunOptions.fresh_worker``); the cell's memory figure is then its peak above the
framework's post-import baseline, independent of what ran before (see :mod:`bench.measure.memory`).
"""

from __future__ import annotations

import gc
import os
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from bench import data
from bench.catalog.frameworks import get_variant
from bench.measure import memory
from bench.measure.isolation import one_line, pin_cpus, redirect_output
from bench.run.adapter import Adapter, load_adapter
from bench.zoo import dropout
from bench.zoo.specs import ModelSpec, Recipe, Settings


@dataclass
class _CellState:
    model: Any
    spec: ModelSpec
    recipe: Recipe
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    order: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


class Worker:
    """Executes the parent's requests against one adapter."""

    def __init__(self, adapter: Adapter, baseline_rss: int | None = None) -> None:
        self.adapter = adapter
        self.cell: _CellState | None = None
        self.baseline_rss = memory.current_rss() if baseline_rss is None else baseline_rss
        self.cells_built = 0  # 1 while serving its first cell: a fresh worker

    def handle(self, msg: dict[str, Any]) -> dict[str, Any]:
        op = msg["op"]
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise ValueError(f"unknown worker request {op!r}")
        return handler(msg)

    def op_build(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.cell = None  # free the previous cell before measuring this one
        gc.collect()
        memory.reset_peak_rss()
        self.adapter.reset_peak_device_memory()
        spec = ModelSpec.from_dict(msg["spec"])
        dropout.refuse_shared(spec)  # the parity mode's host-fed masks are never timed
        recipe = Recipe.from_dict(msg["recipe"])
        stock = bool(msg.get("stock"))  # the timing passes ask for the framework's own optimizer
        t0 = time.perf_counter()
        model = self.adapter.build(spec, msg["weights"], recipe, msg["lr"], stock_optimizer=stock)
        seconds = time.perf_counter() - t0
        self.cells_built += 1
        self.cell = _CellState(
            model, spec, recipe, msg["x_train"], msg["y_train"], msg["x_test"], msg["y_test"],
            msg["order"], extra={"augment": msg.get("augment")},
        )  # fmt: skip
        return {"build_seconds": seconds, "stock": stock}

    def op_train(self, msg: dict[str, Any]) -> dict[str, Any]:
        cell = self._cell()
        # past the recipe's end (extra timing rounds) the batch order repeats
        idx = cell.order[np.arange(msg["start"], msg["stop"]) % len(cell.order)]
        x = cell.x_train[idx]  # gathered outside the timed steps, the same for every framework
        y = cell.y_train[idx]
        if cell.extra.get("augment"):  # seeded crop+flip, the same batches in every framework
            x = data.augment_round(x, int(msg["start"]), **cell.extra["augment"])
        t0 = time.perf_counter()
        times, losses = self.adapter.train_round(cell.model, x, y)
        return {
            "times": np.asarray(times, np.float64),
            "losses": np.asarray(losses, np.float32),
            # the whole round as the framework ran it: staging the batches included
            "round_seconds": time.perf_counter() - t0,
        }

    def op_loop(self, msg: dict[str, Any]) -> dict[str, Any]:
        """The loop scope: steps ``start..stop`` through the framework's idiomatic input
        pipeline over the arrays (DataLoader, tf.data, fit), one sync at the end."""
        cell = self._cell()
        idx = cell.order[np.arange(msg["start"], msg["stop"]) % len(cell.order)]
        seconds, losses = self.adapter.loop_window(cell.model, cell.x_train, cell.y_train, idx)
        return {
            "seconds": float(seconds),
            "losses": np.asarray(losses, np.float32),
            "pipeline": getattr(self.adapter, "loop_pipeline", None),
        }

    def op_window(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Steps start..stop as one throughput window (adapter ``train_window``: one device
        sync at its end); the batches are gathered before the clock starts, as in op_train."""
        cell = self._cell()
        idx = cell.order[np.arange(msg["start"], msg["stop"]) % len(cell.order)]
        x, y = cell.x_train[idx], cell.y_train[idx]
        seconds, losses = self.adapter.train_window(cell.model, x, y)
        return {"seconds": float(seconds), "losses": np.asarray(losses, np.float32)}

    def op_evaluate(self, msg: dict[str, Any]) -> dict[str, Any]:
        cell = self._cell()
        t0 = time.perf_counter()
        batch = eval_batch_size(int(msg.get("batch_size", 1000)), cell.spec)
        loss, accuracy = self.adapter.evaluate(cell.model, cell.x_test, cell.y_test, batch)
        return {
            "loss": float(loss),
            "accuracy": float(accuracy),
            # test examples (an LM's sequences, not its correlated tokens): the binomial floor
            "samples": len(cell.y_test),
            "seconds": time.perf_counter() - t0,
        }

    def op_optimum(self, msg: dict[str, Any]) -> dict[str, Any]:
        """A reference variant's model fitted to its optimum on the cell's whole training set,
        scored on its test set (adapter ``fit_optimum``; frameworks have none)."""
        cell = self._cell()
        fit = getattr(self.adapter, "fit_optimum", None)
        if fit is None:
            raise ValueError(f"{self.adapter.name} fits no optimum (a reference variant does)")
        return {"optimum": fit(cell.x_train, cell.y_train, cell.x_test, cell.y_test)}

    def op_predict(self, msg: dict[str, Any]) -> dict[str, Any]:
        cell = self._cell()
        batch, n = int(msg["batch_size"]), int(msg["n"])
        reps = -(-batch * n // len(cell.x_test))
        pool = np.concatenate([cell.x_test] * reps)[: batch * n]
        x = pool.reshape((n, batch, *cell.x_test.shape[1:]))
        return {"times": np.asarray(self.adapter.predict_round(cell.model, x), np.float64)}

    def op_finish(self, msg: dict[str, Any]) -> dict[str, Any]:
        peak, device_peak = memory.peak_rss(), self.adapter.peak_device_memory()
        return {
            "peak_rss_bytes": peak,
            "peak_device_memory_bytes": device_peak,
            "memory": memory.cell_memory(
                self.baseline_rss,
                peak,
                fresh_worker=self.cells_built == 1,
                device_peak=device_peak,
            ),
        }

    def op_memory(self, msg: dict[str, Any]) -> dict[str, Any]:
        """A timing pass's memory sample, read right after the cell's stretch: the peak since
        the build (build, warm-up, windows, synced steps; no evaluation or inference) above
        the post-import baseline, and the allocator's peak on an accelerator."""
        return {
            "memory": memory.cell_memory(
                self.baseline_rss,
                memory.peak_rss(),
                fresh_worker=self.cells_built == 1,
                device_peak=self.adapter.peak_device_memory(),
            )
        }

    def op_ping(self, msg: dict[str, Any]) -> dict[str, Any]:
        return {"pid": os.getpid()}

    def _cell(self) -> _CellState:
        if self.cell is None:
            raise RuntimeError("no cell built in this worker")
        return self.cell


def worker_main(
    conn: Connection, variant_name: str, settings: dict[str, Any], log_path: str | None = None
) -> None:
    """Entry point of the child process: import the framework, then serve requests."""
    if log_path is not None:
        redirect_output(log_path)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        cpus = pin_cpus(settings.get("cpus"))  # before the framework sizes its thread pools
        variant = get_variant(variant_name)
        t0 = time.perf_counter()
        adapter = load_adapter(variant)
        manifest = adapter.configure(Settings.from_dict(settings))
        manifest["cpu_affinity"] = cpus
        hello = {
            "ok": True,
            "pid": os.getpid(),
            "manifest": manifest,
            "import_seconds": time.perf_counter() - t0,
            "baseline_rss_bytes": memory.current_rss(),
        }
    except BaseException as exc:  # report why the framework could not start, then exit
        conn.send({"ok": False, "error": one_line(exc), "traceback": traceback.format_exc()})
        return
    conn.send(hello)
    worker = Worker(adapter, hello["baseline_rss_bytes"])
    while True:
        try:
            msg = conn.recv()
        except EOFError:  # the parent is gone
            return
        if msg.get("op") == "exit":
            return
        try:
            reply = {"ok": True, **worker.handle(msg)}
        except Exception as exc:  # a failing request fails its cell, not the worker
            reply = {"ok": False, "error": one_line(exc), "traceback": traceback.format_exc()}
        conn.send(reply)


#: Most logits one evaluation batch may hold (float32: 64 MiB). A language model's logits are
#: (rows, T, V): GPT-2's 512 x 50,257 per row would make a 1,000-row batch 100 GiB.
EVAL_LOGITS = 2**24


def eval_batch_size(batch_size: int, spec: ModelSpec) -> int:
    """``batch_size``, cut for a language model so one batch's logits stay within
    :data:`EVAL_LOGITS` (at least one row). Classifiers keep theirs."""
    if spec.params.get("task") != "lm":
        return batch_size
    per_row = int(spec.num_classes) * int(spec.input_shape[0])
    return max(1, min(batch_size, EVAL_LOGITS // per_row))
