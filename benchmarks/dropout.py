"""What dropout costs a training step, per framework: the transformer at its declared dropout
against the same model at dropout 0.

Why: parity tests and the seed-spread accuracy checks need dropout 0 or each framework's own
RNG, but speed is measured at the declared rate, and the rate changes which code runs — Keras's
``MultiHeadAttention`` takes its fused ``dot_product_attention`` path only when its dropout is
0, torch's ``scaled_dot_product_attention`` applies dropout inside its kernel, tf (plain ops
here) draws a mask tensor per dropout site. So "how much does dropout cost" differs by
framework, and a comparison at dropout 0 would hide it.

For each framework two suite workers (``bench.run.worker.Worker``, the code path of ``bench run``)
hold the cell, one at the declared rate and one at 0, and run throughput windows alternately
(A B B A ...), so each window has a neighbour of the other kind seconds away and the machine's
drift cancels in the pair. Printed: both medians and the paired ratio (dropout 0 / declared,
>1 means dropout costs time) with its distribution-free 95 % interval.

    .venv/bin/python benchmarks/dropout.py [--frameworks torch,tf,keras] [--model transformer]
        [--dataset mnist1d] [--rounds 20] [--threads N]

Timing figures depend on the machine; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import intervals  # noqa: E402
from bench.run.pool import WorkerHandle  # noqa: E402
from bench.zoo.specs import Settings  # noqa: E402
from benchmarks.continuous import WINDOW_SECONDS, Cell, cell_recipe, inputs  # noqa: E402


def at_rate(msg: dict, rate: float) -> dict:
    """The build message with every dropout of the model at ``rate``."""
    out = copy.copy(msg)
    out["spec"] = copy.deepcopy(msg["spec"])
    out["spec"]["params"]["dropout"] = rate
    return out


def measure(framework: str, msg: dict, batch: int, rounds: int, threads: int) -> dict:
    """Alternating windows of the declared-rate cell and the dropout-0 cell."""
    settings = Settings(threads=threads, interop_threads=1).to_dict()
    rate = float(msg["spec"]["params"].get("dropout", 0.0))
    workers = [WorkerHandle(framework, settings, 600.0, None) for _ in range(2)]
    try:
        cells = [Cell(workers[0], msg), Cell(workers[1], at_rate(msg, 0.0))]
        for c in cells:
            c.window(30)  # warm-up: tracing, allocator growth
        n = max(int(WINDOW_SECONDS / (cells[0].window(10) / 10)), 10)
        declared, zero = [], []
        for r in range(rounds):
            order = (0, 1) if r % 2 == 0 else (1, 0)
            for i in order:
                (declared if i == 0 else zero).append(batch * n / cells[i].window(n))
    finally:
        for w in workers:
            w.close()
    ratios = np.array(zero) / np.array(declared)
    lo, hi = intervals.median_ci_order_stat(ratios)
    return {"rate": rate, "declared": float(np.median(declared)), "zero": float(np.median(zero)),
            "ratio": float(np.median(ratios)), "lo": lo, "hi": hi}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frameworks", default="torch,tf,keras")
    ap.add_argument("--model", default="transformer")
    ap.add_argument("--dataset", default="mnist1d")
    ap.add_argument("--rounds", type=int, default=20, help="window pairs per framework")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    recipe = cell_recipe(args.model, args.dataset, 300, 50)
    msg = inputs(args.model, args.dataset, recipe)
    t0 = time.perf_counter()
    print(f"{args.model} on {args.dataset}, batch {recipe.batch_size}, {args.threads} threads, "
          f"{args.rounds} window pairs of ~{WINDOW_SECONDS:g} s; samples/s",
          flush=True)  # fmt: skip
    for fw in args.frameworks.split(","):
        r = measure(fw, msg, recipe.batch_size, args.rounds, args.threads)
        print(f"{fw:>8}  dropout {r['rate']:g}: {r['declared']:>9,.0f}   dropout 0: "
              f"{r['zero']:>9,.0f}   0/declared {r['ratio']:.3f} [{r['lo']:.3f}-{r['hi']:.3f}]",
              flush=True)  # fmt: skip
    print(f"wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
