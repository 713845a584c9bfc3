"""One cell's state in the parent process while it trains and is timed, and what every worker of a
group (cells of one model on one dataset) is sent to build it: one copy of the spec, the initial
weights, the lr table, the data and the batch order, shared by all frameworks.

Below both runners (:mod:`bench.run.runner`, :mod:`bench.run.distributed`) and the record builder,
so none of them imports another for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench import data
from bench.catalog import suites, weights
from bench.catalog.schedules import lr_table
from bench.zoo import dropout
from bench.zoo.specs import Cell, ModelSpec


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
    import_seconds: float | None = None  # its training worker's framework import and set-up
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
    idle_since: float = 0.0  # perf_counter when its worker last finished a request (timing)
    optimizer: str = "recipe"  # "stock" when the worker built the framework's own optimizer
    warm_step_seconds: float = 0.0  # a step's cost in the pass's warm-up window (sizes the rest)
    optimum: dict[str, Any] | None = None  # a reference variant's model fitted to its optimum

    def remaining(self, limit: float | None) -> float | None:
        return None if limit is None else max(limit - self.busy_seconds, 0.001)


def groups(cells: Iterable[Cell]) -> list[list[Cell]]:
    """Cells grouped by (model, dataset), in first-seen order."""
    out: dict[str, list[Cell]] = {}
    for cell in cells:
        out.setdefault(cell.group, []).append(cell)
    return list(out.values())


def group_inputs(
    cell: Cell,
    data_dir: str | None = None,
    dataset: data.Dataset | None = None,
    spec: ModelSpec | None = None,
) -> tuple[ModelSpec, dict[str, Any]]:
    """What every worker of a group is sent to build its cell: the spec, the canonical initial
    weights, the lr table, the data and the batch order — one copy, shared by all frameworks. The
    spec carries the run's seed for dropout (``dropout_seed``). A sweep's length point passes
    its own ``dataset`` and ``spec`` (:mod:`bench.run.sweep_inputs`)."""
    if dataset is None:
        dataset = data.load(cell.dataset, data_dir=data_dir, seed=cell.seed)
    if spec is None:
        spec = suites.model_spec(cell.model, cell.dataset, dataset.num_classes, cell.suite)
    spec = dropout.seeded(spec, cell.seed)  # every framework's dropout draws from the run's seed
    dataset = data.fit_to_model(dataset, spec.input_shape)  # token sequences cut to the model's T
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
