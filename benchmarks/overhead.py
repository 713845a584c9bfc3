"""Harness overhead: the suite's own measurement of a cell against a bare training loop.

For each framework and model, two child processes train the same cell from the same weights on
the same batches, in alternating rounds (bare, suite, suite, bare, ...) so machine drift falls on
both alike:

* bare: the framework's model and optimizer, and a plain loop with no harness — no per-step
  timer, no learning-rate table, no loss collection; only a clock read every BLOCK steps;
* suite: the worker the suite runs (``bench.pool.WorkerHandle``), timing each step as it does.

Both are reduced to the same statistic: throughput of blocks of BLOCK consecutive steps (the
suite's per-step times summed per block), median over all blocks. The ratio suite/bare is the
harness's cost (or bias) in the figures it reports; the target is within 1%.

    .venv/bin/python benchmarks/overhead.py [--rounds 12] [--steps 200] [--threads N]
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

from bench import catalog, environment
from bench.frameworks import get_variant, load_adapter
from bench.pool import WorkerHandle
from bench.runner import group_inputs
from bench.specs import Cell, Recipe, Settings

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


def bare_server(
    conn: Any, framework: str, settings: dict[str, Any], inputs: dict[str, Any]
) -> None:
    """A child process holding one bare model, training rounds on request."""
    from bench.specs import ModelSpec

    adapter = load_adapter(get_variant(framework))
    adapter.configure(Settings.from_dict(settings))
    spec = ModelSpec.from_dict(inputs["spec"])
    model = adapter.build(spec, inputs["weights"], Recipe.from_dict(inputs["recipe"]), inputs["lr"])
    order, xt, yt = inputs["order"], inputs["x_train"], inputs["y_train"]
    conn.send("ready")
    while (msg := conn.recv()) is not None:
        idx = order[np.arange(msg[0], msg[1]) % len(order)]
        conn.send(BARE[framework](model, xt[idx], yt[idx]))


def measure(framework: str, model: str, rounds: int, steps: int, settings: Settings) -> dict:
    recipe = replace(catalog.PAPER_RECIPE, steps=rounds * steps + 100)
    _, inputs = group_inputs(Cell(framework, model, "mnist1d", "overhead", recipe))
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    bare = ctx.Process(target=bare_server, args=(child, framework, settings.to_dict(), inputs))
    bare.start()
    suite = WorkerHandle(framework, settings.to_dict(), 300)
    try:
        assert parent.recv() == "ready"
        suite.request({"op": "build", **inputs}, None)
        parent.send((0, 100))  # warm-up: tracing, allocator growth, caches
        parent.recv()
        suite.request({"op": "train", "start": 0, "stop": 100}, None)
        bare_blocks: list[float] = []
        suite_blocks: list[float] = []
        suite_steps: list[np.ndarray] = []
        for r in range(rounds):
            start = 100 + r * steps
            for who in ("bare", "suite") if r % 2 == 0 else ("suite", "bare"):
                if who == "bare":
                    parent.send((start, start + steps))
                    bare_blocks += parent.recv()
                else:
                    times = suite.request({"op": "train", "start": start, "stop": start + steps},
                                          None)["times"]  # fmt: skip
                    suite_steps.append(times)
                    suite_blocks += [float(times[i : i + BLOCK].sum())
                                     for i in range(0, len(times), BLOCK)]  # fmt: skip
    finally:
        parent.send(None)
        bare.join(10)
        suite.close()
    b = 100 * BLOCK / np.median(bare_blocks)  # batch 100 samples per step
    s = 100 * BLOCK / np.median(suite_blocks)
    reported = 100 / np.median(np.concatenate(suite_steps))
    return {"bare": b, "suite": s, "ratio": s / b, "reported": reported}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=environment.usable_cores())
    parser.add_argument("--frameworks", default="torch,tf")
    parser.add_argument("--models", default="mlp,cnn")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    settings = Settings(threads=args.threads, interop_threads=1)
    print(f"harness overhead: {args.rounds} alternating rounds of {args.steps} steps, blocks of "
          f"{BLOCK} steps, batch 100, {args.threads} threads")  # fmt: skip
    print(f"{'framework':<10}{'model':<8}{'bare samples/s':>16}{'suite samples/s':>17}"
          f"{'suite/bare':>12}{'reported (median step)':>25}")  # fmt: skip
    for framework in args.frameworks.split(","):
        for model in args.models.split(","):
            m = measure(framework, model, args.rounds, args.steps, settings)
            print(f"{framework:<10}{model:<8}{m['bare']:>16,.0f}{m['suite']:>17,.0f}"
                  f"{m['ratio']:>12.4f}{m['reported']:>25,.0f}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
