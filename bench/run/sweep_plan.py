"""A sweep's plan: its axes (batch sizes, intra-op threads, sequence lengths) read and checked,
then expanded into *throughput points*, one ordinary cell each (:class:`bench.zoo.specs.Cell`
with ``sweep`` set: its batch, threads and length are part of its key, so ``bench compare``
and the history never match two points).

A point is timed, never trained to accuracy: warm-up and timing passes in fresh workers, as
every cell's speed is (:mod:`bench.run.sweep_runner`). To fit a curve of many points into a
run of minutes, a sweep cuts each point's warm-up, cold window and synced latency steps below
the suite's floors; :data:`CUTS` says which and the run's ``env.json`` and every record repeat
it. Every refusal is a :class:`~bench.run.plan.PlanError` (one line, exit 2, nothing written).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from bench import data
from bench.catalog import suites
from bench.measure import environment
from bench.run.plan import PlanError, PlanRequest, Say, plan_cells
from bench.zoo.specs import Cell

#: More points than this need ``--yes``: at ~15 s of fresh-worker imports and windows per point
#: and pass on 2 cores, 200 points are more than two hours.
MAX_POINTS = 200

#: What a throughput point runs, against the suite's floors (recipe warm-up 10 steps, a cold
#: window of 10 steps, 50 synced latency steps per pass, at least 2 throughput windows per pass):
#: ``(sweep's value, suite's value)``. One window a pass: the pass is the unit of evidence (one
#: figure, its windows' median step; with one window, that window's mean step) and at ResNet-20's
#: batch 256 on one thread (a step of 1.3-2 s) a second window costs 5-11 s a pass.
CUTS: dict[str, tuple[int, int]] = {
    "warmup_steps": (3, 10),
    "cold_steps": (2, 10),
    "latency_steps": (0, 50),
    "min_windows": (1, 2),
}

#: Datasets whose samples are token sequences a sweep may generate at any length.
SEQUENCE_DATASETS = ("markov-text", "synthetic-tokens-bert", "synthetic-tokens-gpt2")


@dataclass(frozen=True)
class SweepRequest:
    """What ``bench sweep`` asks for: the base plan and the axes (None: the recipe's value)."""

    base: PlanRequest
    batch_sizes: list[int] | None = None
    threads: list[int] | None = None
    seq_lens: list[int] | None = None
    tiny: bool = False
    yes: bool = False


def parse_axis(text: str, flag: str) -> list[int]:
    """``"16,32,64"`` → ``[16, 32, 64]``; a non-numeric, zero or negative, repeated or unsorted
    list is refused in one line naming the flag."""
    items = [t.strip() for t in text.split(",")]
    values = []
    for item in items:
        try:
            value = int(item)
        except ValueError:
            raise PlanError(f"{flag}: {item!r} is not a whole number (e.g. 16,32,64)") from None
        if value <= 0:
            raise PlanError(f"{flag}: {value} must be greater than 0")
        values.append(value)
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise PlanError(f"{flag}: {', '.join(map(str, repeated))} given more than once")
    if values != sorted(values):
        raise PlanError(f"{flag}: give the values in increasing order "
                        f"({','.join(map(str, sorted(values)))})")  # fmt: skip
    return values


def point_steps(n_train: int, batch_size: int) -> int:
    """A point's recipe length: one epoch of batches (at least 20), the batch order the windows
    cycle through. Never the recipe's 6,000 steps: an order of 6,000 x 2,048 indices is 98 MB
    sent to every worker for nothing (the windows repeat the order past its end)."""
    return max(math.ceil(n_train / batch_size), 20)


def plan_sweep(request: SweepRequest, say: Say) -> list[Cell]:
    """Every point of the sweep, grouped by model and dataset, then batch, threads and length
    (each point one group: its frameworks, each in its own fresh worker)."""
    base = plan_cells(request.base, say)
    usable = environment.usable_cores()
    threads = request.threads or [usable]
    if threads[-1] > usable:
        raise PlanError(f"--threads: {threads[-1]} is more than the {usable} usable cores")
    if request.seq_lens:
        flat = sorted({c.model for c in base if c.dataset not in SEQUENCE_DATASETS})
        if flat:
            raise PlanError(f"--seq-lens: {', '.join(flat)} is not a sequence model on "
                            f"{', '.join(sorted({c.dataset for c in base}))} (lengths apply to "
                            f"{', '.join(SEQUENCE_DATASETS)})")  # fmt: skip
    for cell in base:
        n_train = data.train_size(cell.dataset, request.base.data_dir)
        for b in request.batch_sizes or []:
            if b > n_train:
                raise PlanError(f"--batch-sizes: {b} is larger than the {n_train} training "
                                f"samples of {cell.dataset}")  # fmt: skip
    lengths: list[int | None] = list(request.seq_lens or [None])
    cells = []
    for model_cells in _by_group(base):
        first = model_cells[0]
        n_train = data.train_size(first.dataset, request.base.data_dir)
        for b in request.batch_sizes or [first.recipe.batch_size]:
            recipe = replace(first.recipe, batch_size=b, steps=point_steps(n_train, b),
                             eval_every=point_steps(n_train, b),
                             warmup_steps=CUTS["warmup_steps"][0])  # fmt: skip
            for t in threads:
                for length in lengths:
                    cells += [replace(c, recipe=recipe, sweep=True, threads=t, seq_len=length,
                                      tiny=request.tiny) for c in model_cells]  # fmt: skip
    if len(cells) > MAX_POINTS and not request.yes:
        raise PlanError(f"the sweep has {len(cells)} points (more than {MAX_POINTS}); "
                        "narrow the axes or add --yes")  # fmt: skip
    return cells


def _by_group(cells: list[Cell]) -> list[list[Cell]]:
    out: dict[str, list[Cell]] = {}
    for cell in cells:
        out.setdefault(cell.group, []).append(cell)
    return list(out.values())


def sequence_spec_length(model: str, dataset: str) -> int:
    """The model's own sequence length on ``dataset`` (the recipe's point)."""
    return int(suites.model_spec(model, dataset).input_shape[0])
