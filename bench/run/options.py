"""What a run may spend: the options of a run (passes, windows, warm-up, latency and inference
counts, workers) and the budgets that cut them for models whose step costs seconds.

Kept apart from the runner so that planning, the command line and the data-parallel runner read
the same defaults without importing the machinery.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.zoo.specs import ModelSpec


@dataclass
class RunOptions:
    cell_timeout: float | None = None  # seconds of worker time per cell; None: no limit
    target_half_width: float = 0.02  # a throughput CI within ±2% is recorded as converged
    timing_passes: int = 4  # fresh-process timing passes after training; 0: time training only
    pass_seconds: float = 5.0  # throughput windows per cell and pass (at least pass_min_windows)
    window_seconds: float = 1.0  # target length of one throughput window
    pass_min_windows: int = 2
    pass_max_windows: int = 50
    cold_steps: int = 10  # steps after the idle gap, timed apart (the after-idle figure)
    latency_steps: int = 50  # separately synced steps per cell and pass, for p50/p90/p99
    stock_timing: bool = True  # timing passes ask for the framework's own optimizer class
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
    # --workers N: every cell data-parallel at 1 and N workers (bench.run.distributed); 0: off
    workers: int = 0
    scaling: str = "weak"  # --scaling: weak (per-worker batch fixed) | strong (global fixed)


#: Timing defaults per suite: (timing passes, throughput-window seconds per cell and pass).
#: The quick suite is sized so that ``make bench`` (torch, tf, keras) runs within 3 minutes on
#: 2 cores: 3 passes are the fewest that give a pass-level interval at all (t with 2 degrees of
#: freedom: wide, but honest), and 1 s of windows per cell and pass holds hundreds of steps of
#: its small models. Other suites: 4 passes of 5 s.
SUITE_TIMING: dict[str, tuple[int, float]] = {"quick": (3, 1.0)}


DEFAULT_TIMING = (4, 5.0)


def timing_defaults(suite: str) -> tuple[int, float]:
    """(timing passes, pass seconds) a run of ``suite`` uses unless the user says otherwise."""
    return SUITE_TIMING.get(suite, DEFAULT_TIMING)


#: What one inference measurement may cost: forward FLOPs of its calls together (and of any
#: one large-batch call), bytes of input the worker stages for the large-batch calls, and bytes
#: of one call's output. The defaults (200 batch-1 calls, 30 calls of 1,000 samples) cost
#: milliseconds on the MNIST-1D models but ~40 minutes of CPU and 17 GiB of staged input on
#: ResNet-50 at 224x224; 1,000 BERT-base samples of 128 tokens are 200 s a call on 2 cores, and
#: 1,000 GPT-2 samples of 512 tokens have 100 GB of logits (the worker was killed for memory).
#: So big models get fewer calls and smaller batches.
INFERENCE_FLOP_BUDGET = 2e11


INFERENCE_INPUT_BYTES = 256 * 2**20


INFERENCE_OUTPUT_BYTES = 512 * 2**20


def output_bytes(spec: ModelSpec) -> int:
    """float32 bytes of one sample's output: a language model's logits at every position
    (steps x vocabulary), else one row of class scores."""
    per_position = spec.input_shape[0] if spec.params.get("task") == "lm" else 1
    return 4 * per_position * spec.num_classes


def inference_plan(
    forward_flops: int, sample_bytes: int, options: RunOptions, sample_output_bytes: int = 40
) -> tuple[int, int, int]:
    """(batch-1 calls, large batch size, large-batch calls) within the budgets above; at least
    20 latency calls (for a p99 worth the name) and 5 large-batch calls."""
    f = max(forward_flops, 1)
    calls = int(min(max(INFERENCE_FLOP_BUDGET // f, 20), options.latency_calls))
    batch = min(
        options.inference_batch,
        INFERENCE_INPUT_BYTES // (30 * max(sample_bytes, 1)),
        int(INFERENCE_FLOP_BUDGET // f),
        INFERENCE_OUTPUT_BYTES // max(sample_output_bytes, 1),
    )
    batch = int(max(batch, 1))
    n = int(min(max(INFERENCE_FLOP_BUDGET // (f * batch), 5), 30))
    return calls, batch, n


#: Seconds a stretch may spend on its cold window and on its synced latency steps, for a model
#: whose step costs that much (ResNet-50 on a CPU: 2-5 s); small models take the options' counts.
COLD_WINDOW_BUDGET_S = 1.0


LATENCY_BUDGET_S = 5.0


def stretch_steps(step_seconds: float, options: RunOptions) -> tuple[int, int]:
    """(cold-window steps, synced latency steps) of one stretch: the options' counts (10 and
    50), cut for a model whose step costs seconds to fit the budgets above, at least 2 and 5
    steps, so a timing pass costs seconds per cell, not minutes."""
    if step_seconds <= 0:
        return options.cold_steps, options.latency_steps
    cold = int(min(options.cold_steps, max(2, COLD_WINDOW_BUDGET_S / step_seconds)))
    latency = options.latency_steps
    if latency > 0:
        latency = int(min(latency, max(5, LATENCY_BUDGET_S / step_seconds)))
    return cold, latency
