"""What a cell measures once it has trained, before its record is written: inference in
inference mode, and for a reference variant its model fitted to the optimum.

Both are requests to the cell's own worker (:class:`bench.run.pool.CellWorkers`), so a failure
marks the cell the way any request does; the runner calls them in its training pass.
"""

from __future__ import annotations

import math

from bench.catalog import flops
from bench.catalog.frameworks import get_variant
from bench.measure import summaries
from bench.run.cells import CellProgress
from bench.run.options import RunOptions, inference_plan, output_bytes
from bench.run.pool import CellWorkers


def inference(workers: CellWorkers, p: CellProgress, options: RunOptions) -> None:
    """Batch-1 latency and large-batch throughput in inference mode, sized by
    :func:`bench.run.options.inference_plan` (a ResNet-50 at 224x224 costs seconds)."""
    calls, batch, n = inference_plan(
        flops.forward_flops(p.spec),
        4 * math.prod(p.spec.input_shape),
        options,
        output_bytes(p.spec),
    )
    small = workers.call(p, {"op": "predict", "batch_size": 1, "n": calls}, "inference")
    large = workers.call(p, {"op": "predict", "batch_size": batch, "n": n}, "inference")
    if small is None or large is None:
        return
    batch1 = summaries.latency_summary(small["times"][min(5, calls // 4) :])
    big = summaries.summarize_steps(large["times"], batch, None, min(3, n // 2))
    p.inference = {
        "batch1_latency_ms": batch1,
        "large_batch": {"batch_size": batch, **big["throughput"]},
    }


def optimum(workers: CellWorkers, p: CellProgress) -> None:
    """A reference variant's second row (bench.catalog.frameworks; a framework has none): its
    model fitted to the optimum on the cell's split. A failure fails the cell, its training
    figures kept in the record."""
    if not get_variant(p.cell.framework).reference:
        return
    reply = workers.call(p, {"op": "optimum"}, "optimum")
    if reply is not None:
        p.optimum = reply["optimum"]
