"""Harness overhead: the suite's own measurement of a cell against a bare training loop, for
both timing scopes, in every framework.

For each framework, model and scope, one child process holds the cell the suite's worker builds
(``bench.run.worker.Worker``, the same code path as ``bench run``, the stock optimizer as in the
timing passes) and trains it in alternating blocks (bare, suite, suite, bare, ...) on the same
batches:

* scope **step** (an optimizer step on a batch already staged as a device tensor):
  - bare: the framework's model and optimizer driven by the plain loop its users write — torch
    ``zero_grad / cross_entropy(module(x), y).backward() / step``; tf the cell's compiled
    ``tf.function`` step called per batch; Keras the custom step of its guide "Writing a
    training loop from scratch" (``tf.function``, GradientTape, ``optimizer.apply``);
  - suite: the worker's ``window`` request (``bench run``'s throughput windows), STEP_BLOCK
    steps with one sync at the end;
  - Keras also gets a row **train_on_batch**: the suite's window against ``model.train_on_batch``
    per batch, Keras's public one-step API, which copies the logs to the host every step (what
    a user of that API pays on top of the step scope);
* scope **loop** (what an idiomatic training loop pays, its input pipeline included):
  - bare: written here again without the harness — torch a ``DataLoader`` over a
    ``TensorDataset`` with the block's index batches as sampler (``batch_size=None``,
    ``num_workers=0``); tf a ``tf.data`` pipeline (gather per index batch, ``AUTOTUNE``,
    ``prefetch``) feeding the compiled step; Keras one ``model.fit`` over that pipeline with no
    callback;
  - suite: the worker's ``loop`` request (``bench run``'s loop-scope figure), LOOP_BLOCK steps.

Both run in one process on one model object, so the comparison sees the harness and nothing else:
two processes differ by a few percent on their own (thread placement, allocator state). Blocks
alternate so that each suite block has a bare neighbour a few milliseconds away, and the machine's
drift is nearly the same for both. Printed per scope: suite/bare as the ratio of the median blocks,
and "paired", the median of the ratios of neighbouring blocks with its distribution-free 95%
interval (:func:`bench.measure.intervals.median_ci_order_stat`). A ratio within 0.95-1.05 means the
suite reports what that framework's users pay in that scope.

    .venv/bin/python benchmarks/overhead.py [--rounds 200] [--threads N]
        [--frameworks torch,tf,keras] [--models mlp,cnn] [--scopes step,loop]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.catalog import suites
from bench.catalog.frameworks import get_variant
from bench.measure import environment, intervals
from bench.run.adapter import load_adapter
from bench.run.cells import group_inputs
from bench.zoo.specs import Cell, Settings

STEP_BLOCK = 20
LOOP_BLOCK = 100
BLOCKS = {"step": STEP_BLOCK, "loop": LOOP_BLOCK, "train_on_batch": STEP_BLOCK}


# -- bare step loops: batches staged before the clock starts -------------------------------------
def _bare_step_torch(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    import torch
    import torch.nn.functional as F

    module, opt = model.module, model.optimizer
    xs, ys = torch.from_numpy(x).unbind(0), torch.from_numpy(y.astype(np.int64)).unbind(0)
    t0 = time.perf_counter()
    for xb, yb in zip(xs, ys, strict=True):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(module(xb), yb).backward()
        opt.step()
    return time.perf_counter() - t0


def _bare_step_tf(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    import tensorflow as tf

    xs, ys = tf.unstack(tf.constant(x)), tf.unstack(tf.constant(y))
    step = model.train_step(x.shape[1])  # the graph traced for this batch size
    t0 = time.perf_counter()
    for xb, yb in zip(xs, ys, strict=True):
        loss = step(xb, yb)
    loss.numpy()  # the block's one host sync, as a loop's end has
    return time.perf_counter() - t0


def _bare_step_keras(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """The custom step of Keras's guide "Writing a training loop from scratch" (TensorFlow
    backend): a ``tf.function`` around the model's call, its compiled loss, a GradientTape and
    ``optimizer.apply``."""
    import tensorflow as tf

    step = _cached("keras-step", model, lambda: _keras_guide_step(model))
    xs, ys = tf.unstack(tf.constant(x)), tf.unstack(tf.constant(y))
    t0 = time.perf_counter()
    for xb, yb in zip(xs, ys, strict=True):
        loss = step(xb, yb)
    loss.numpy()
    return time.perf_counter() - t0


def _keras_guide_step(model: Any) -> Any:
    import tensorflow as tf

    loss_fn, optimizer, weights = model.loss, model.optimizer, model.trainable_weights

    @tf.function
    def step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        optimizer.apply(tape.gradient(loss, weights), weights)
        return loss

    return step


def _bare_api_keras(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """``model.train_on_batch`` per batch: Keras's public one-step API (a host copy of the
    logs each step)."""
    import keras

    xs = [keras.ops.convert_to_tensor(xb) for xb in x]
    ys = [keras.ops.convert_to_tensor(yb) for yb in y]
    t0 = time.perf_counter()
    for xb, yb in zip(xs, ys, strict=True):
        model.train_on_batch(xb, yb)
    return time.perf_counter() - t0


# -- bare loops with the framework's input pipeline ---------------------------------------------
def _bare_loop_torch(
    model: Any, x_train: np.ndarray, y_train: np.ndarray, idx: np.ndarray
) -> float:
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    module, opt = model.module, model.optimizer
    dataset = _cached(
        "torch",
        x_train,
        lambda: TensorDataset(
            torch.from_numpy(x_train), torch.from_numpy(y_train.astype(np.int64))
        ),
    )
    loader = DataLoader(dataset, sampler=list(idx), batch_size=None, num_workers=0)
    t0 = time.perf_counter()
    for xb, yb in loader:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(module(xb), yb).backward()
        opt.step()
    return time.perf_counter() - t0


def _tf_dataset(x_train: np.ndarray, y_train: np.ndarray, idx: np.ndarray) -> Any:
    import tensorflow as tf

    x, y = _cached("tf", x_train, lambda: (tf.constant(x_train), tf.constant(y_train, tf.int64)))
    return (
        tf.data.Dataset.from_tensor_slices(idx.astype(np.int64))
        .map(
            lambda i: (tf.gather(x, i), tf.gather(y, i)),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        .prefetch(tf.data.AUTOTUNE)
    )


def _bare_loop_tf(model: Any, x_train: np.ndarray, y_train: np.ndarray, idx: np.ndarray) -> float:
    ds = _tf_dataset(x_train, y_train, idx)
    step = model.train_step(idx.shape[1])
    t0 = time.perf_counter()
    for xb, yb in ds:
        loss = step(xb, yb)
    loss.numpy()
    return time.perf_counter() - t0


def _bare_loop_keras(
    model: Any, x_train: np.ndarray, y_train: np.ndarray, idx: np.ndarray
) -> float:
    ds = _tf_dataset(x_train, y_train, idx)
    t0 = time.perf_counter()
    model.fit(ds, epochs=1, shuffle=False, verbose=0)
    return time.perf_counter() - t0


_cache: dict[str, tuple[int, Any]] = {}


def _cached(key: str, array: np.ndarray, make: Any) -> Any:
    """Set-up a user pays once per training run (tensors of the whole arrays), made once."""
    if key not in _cache or _cache[key][0] != id(array):
        _cache[key] = (id(array), make())
    return _cache[key][1]


BARE_STEP = {"torch": _bare_step_torch, "tf": _bare_step_tf, "keras": _bare_step_keras}
BARE_LOOP = {"torch": _bare_loop_torch, "tf": _bare_loop_tf, "keras": _bare_loop_keras}


def server(conn: Any, framework: str, settings: dict[str, Any], inputs: dict[str, Any]) -> None:
    """A child process holding the suite's worker and its cell, training blocks on request:
    (who, scope, start, stop) with who "bare" (the plain loop) or "suite" (the worker)."""
    from bench.run.worker import Worker

    adapter = load_adapter(get_variant(framework))
    adapter.configure(Settings.from_dict(settings))
    worker = Worker(adapter)
    worker.handle({"op": "build", **inputs, "stock": True})
    cell = worker._cell()
    conn.send("ready")
    while (msg := conn.recv()) is not None:
        who, scope, start, stop = msg
        idx = cell.order[np.arange(start, stop) % len(cell.order)]
        if who == "suite":
            op = "loop" if scope == "loop" else "window"
            conn.send(worker.handle({"op": op, "start": start, "stop": stop})["seconds"])
        elif scope == "train_on_batch":
            conn.send(_bare_api_keras(cell.model, cell.x_train[idx], cell.y_train[idx]))
        elif scope == "step":
            conn.send(BARE_STEP[framework](cell.model, cell.x_train[idx], cell.y_train[idx]))
        else:
            conn.send(BARE_LOOP[framework](cell.model, cell.x_train, cell.y_train, idx))


def measure(framework: str, model: str, scope: str, rounds: int, settings: Settings) -> dict:
    block = BLOCKS[scope]
    recipe = replace(suites.PAPER_RECIPE, steps=(rounds + 2) * 2 * block + 100)
    _, inputs = group_inputs(Cell(framework, model, "mnist1d", "overhead", recipe))
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=server, args=(child, framework, settings.to_dict(), inputs))
    proc.start()
    bare: list[float] = []
    suite: list[float] = []
    try:
        assert parent.recv() == "ready"
        start = 0
        for who in ("bare", "suite", "bare", "suite"):  # warm-up: tracing, allocator, caches
            parent.send((who, scope, start, start + block))
            parent.recv()
            start += block
        for r in range(rounds):
            for who in ("bare", "suite") if r % 2 == 0 else ("suite", "bare"):
                parent.send((who, scope, start, start + block))
                (bare if who == "bare" else suite).append(float(parent.recv()))
                start += block
    finally:
        parent.send(None)
        proc.join(30)
    bare_blocks, suite_blocks = np.asarray(bare), np.asarray(suite)
    batch = suites.PAPER_RECIPE.batch_size
    b = batch * block / np.median(bare_blocks)
    s = batch * block / np.median(suite_blocks)
    # Each suite block against its bare neighbour, a few milliseconds apart: the machine's drift
    # is nearly the same for both, so the median of these ratios is the sharper estimate.
    pair = bare_blocks / suite_blocks  # suite throughput / bare throughput, per pair
    low, high = intervals.median_ci_order_stat(pair)
    return {
        "bare": b,
        "suite": s,
        "ratio": s / b,
        "pair": float(np.median(pair)),
        "low": low,
        "high": high,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--threads", type=int, default=environment.usable_cores())
    parser.add_argument("--frameworks", default="torch,tf,keras")
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--scopes", default="step,loop")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    settings = Settings(threads=args.threads, interop_threads=1)
    batch = suites.PAPER_RECIPE.batch_size
    print(
        f"harness overhead: {args.rounds} alternating rounds of bare and suite blocks (step "
        f"scope {STEP_BLOCK} steps, loop scope {LOOP_BLOCK}), batch {batch}, {args.threads} "
        f"threads; samples/s"
    )
    print(
        f"{'framework':<10}{'model':<7}{'scope':<15}{'bare':>11}{'suite':>11}"
        f"{'suite/bare':>11}{'paired':>8}{'95% CI':>17}"
    )
    t0 = time.perf_counter()
    for framework in args.frameworks.split(","):
        for model in args.models.split(","):
            for scope in args.scopes.split(",") + (
                ["train_on_batch"] if framework == "keras" else []
            ):
                m = measure(framework, model, scope, args.rounds, settings)
                print(
                    f"{framework:<10}{model:<7}{scope:<15}{m['bare']:>11,.0f}{m['suite']:>11,.0f}"
                    f"{m['ratio']:>11.4f}{m['pair']:>8.4f}{m['low']:>9.4f}–{m['high']:<7.4f}",
                    flush=True,
                )
    print(f"wall time {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
