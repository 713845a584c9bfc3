"""Harness overhead: the suite's own measurement of a cell against a bare training loop.

For each framework and model, one child process holds the cell the suite's worker builds
(``bench.worker.Worker``, the same code path as ``bench run``) and trains it in alternating
rounds of BLOCK steps (bare, suite, suite, bare, ...) on the same batches:

* bare: the framework's model and optimizer driven by a plain loop with no harness — no
  per-step timer, no learning-rate table, no loss collection; only a clock read every BLOCK
  steps;
* suite: the worker's ``window`` request, a throughput window of BLOCK steps with one sync at
  its end, as ``bench run``'s timing passes time throughput (``benchmarks/continuous.py``
  checks the passes themselves against a continuous loop).

Both run in one process on one model object, so the comparison sees the harness and nothing
else: two processes differ by a few percent on their own (thread placement, allocator state),
which an earlier two-process version of this script could not tell from overhead. Rounds are
one block long so that each suite block has a bare neighbour a few milliseconds away: with
200-step rounds, the machine's drift left a ±5% interval on the ratio. Both are reduced to the
same statistic: the time of a block of BLOCK consecutive steps (the suite's window). Printed:
suite/bare as the ratio of the median blocks, and "paired", the median of
the ratios of neighbouring blocks with its distribution-free 95% interval
(:func:`bench.stats.median_ci_order_stat`). The ratio suite/bare is the harness's cost (or
bias) in the figures it reports; the target is within 1%.

    .venv/bin/python benchmarks/overhead.py [--rounds 400] [--threads N]
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

from bench import catalog, environment, stats
from bench.frameworks import get_variant, load_adapter
from bench.runner import group_inputs
from bench.specs import Cell, Settings

BLOCK = 20


def _bare_torch(model: Any, x: np.ndarray, y: np.ndarray) -> list[float]:
    import torch
    import torch.nn.functional as F

    module, opt = model.module, model.optimizer
    xs, ys = torch.from_numpy(x).unbind(0), torch.from_numpy(y).unbind(0)
    blocks = []
    for start in range(0, len(xs), BLOCK):
        t0 = time.perf_counter()
        for i in range(start, min(start + BLOCK, len(xs))):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(module(xs[i]), ys[i]).backward()
            opt.step()
        blocks.append(time.perf_counter() - t0)
    return blocks


def _bare_tf(model: Any, x: np.ndarray, y: np.ndarray) -> list[float]:
    import tensorflow as tf

    xs, ys = tf.unstack(tf.constant(x)), tf.unstack(tf.constant(y))
    step = model.train_step(x.shape[1])  # the graph traced for this batch size
    blocks = []
    for start in range(0, len(xs), BLOCK):
        t0 = time.perf_counter()
        for i in range(start, min(start + BLOCK, len(xs))):
            step(xs[i], ys[i])
        blocks.append(time.perf_counter() - t0)
    return blocks


BARE = {"torch": _bare_torch, "tf": _bare_tf}


def server(conn: Any, framework: str, settings: dict[str, Any], inputs: dict[str, Any]) -> None:
    """A child process holding the suite's worker and its cell, training rounds on request:
    ("bare", start, stop) through the plain loop, ("suite", start, stop) through the worker."""
    from bench.worker import Worker

    adapter = load_adapter(get_variant(framework))
    adapter.configure(Settings.from_dict(settings))
    worker = Worker(adapter)
    worker.handle({"op": "build", **inputs})
    cell = worker._cell()
    conn.send("ready")
    while (msg := conn.recv()) is not None:
        who, start, stop = msg
        if who == "suite":
            window = worker.handle({"op": "window", "start": start, "stop": stop})
            conn.send([window["seconds"]])
        else:
            idx = cell.order[np.arange(start, stop) % len(cell.order)]
            conn.send(BARE[framework](cell.model, cell.x_train[idx], cell.y_train[idx]))


def measure(framework: str, model: str, rounds: int, settings: Settings) -> dict:
    steps = BLOCK
    recipe = replace(catalog.PAPER_RECIPE, steps=rounds * steps + 100)
    _, inputs = group_inputs(Cell(framework, model, "mnist1d", "overhead", recipe))
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=server, args=(child, framework, settings.to_dict(), inputs))
    proc.start()
    bare_rounds: list[np.ndarray] = []
    suite_rounds: list[np.ndarray] = []
    try:
        assert parent.recv() == "ready"
        for who in ("bare", "suite"):  # warm-up: tracing, allocator growth, caches
            parent.send((who, 0, 50))
            parent.recv()
        for r in range(rounds):
            start = 100 + r * steps
            for who in ("bare", "suite") if r % 2 == 0 else ("suite", "bare"):
                parent.send((who, start, start + steps))
                reply = np.asarray(parent.recv(), dtype=float)
                if who == "bare":
                    bare_rounds.append(reply)
                else:
                    suite_rounds.append(reply)
    finally:
        parent.send(None)
        proc.join(30)
    bare_blocks, suite_blocks = np.concatenate(bare_rounds), np.concatenate(suite_rounds)
    b = 100 * BLOCK / np.median(bare_blocks)  # batch 100 samples per step
    s = 100 * BLOCK / np.median(suite_blocks)
    # Each suite block against its bare neighbour, a few milliseconds apart: the machine's drift
    # is nearly the same for both, so the median of these ratios is the sharper estimate.
    pair = bare_blocks / suite_blocks  # suite throughput / bare throughput, per pair
    low, high = stats.median_ci_order_stat(pair)
    return {"bare": b, "suite": s, "ratio": s / b, "pair": float(np.median(pair)), "low": low,
            "high": high}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--threads", type=int, default=environment.usable_cores())
    parser.add_argument("--frameworks", default="torch,tf")
    parser.add_argument("--models", default="mlp,cnn")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    settings = Settings(threads=args.threads, interop_threads=1)
    print(f"harness overhead: {args.rounds} alternating rounds of {BLOCK} steps each for the "
          f"bare loop and the suite, batch 100, {args.threads} threads")  # fmt: skip
    print(f"{'framework':<10}{'model':<8}{'bare samples/s':>16}{'suite samples/s':>17}"
          f"{'suite/bare':>12}{'paired':>9}{'95% CI':>18}")  # fmt: skip
    for framework in args.frameworks.split(","):
        for model in args.models.split(","):
            m = measure(framework, model, args.rounds, settings)
            print(f"{framework:<10}{model:<8}{m['bare']:>16,.0f}{m['suite']:>17,.0f}"
                  f"{m['ratio']:>12.4f}{m['pair']:>9.4f}{m['low']:>9.4f}–{m['high']:<8.4f}",
                  flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
