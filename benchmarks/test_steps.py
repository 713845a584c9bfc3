"""One training step and one inference step of every CPU-suite model, in every framework.

The same adapters, weights, data and recipe as ``bench run``; what differs is the harness:
pytest-benchmark times each call (``adapter.train_round`` / ``adapter.predict_round`` on one
batch) and saves files that ``pytest-benchmark compare`` reads and ``bench history
--import-pytest-benchmark`` adds to the history. A quick check for one step's cost, not a
substitute for the suite's interleaved rounds.

    pytest benchmarks/ --benchmark-autosave [--step-rounds 30] [--benchmark-save-data]

Each benchmark's ``params`` (framework, model, dataset, and batch size for inference) and
``extra_info`` (the same plus the phase) are what the importer reads to key the record.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from bench import data
from bench.catalog import suites, weights
from bench.catalog.schedules import lr_table
from bench.run.adapter import Adapter

#: The out-of-the-box variants; all run in this one process, so Keras only on TensorFlow.
FRAMEWORKS = ("torch", "tf", "keras")
#: Every entry of the CPU-sized suites (quick, then standard's others) whose data is available
#: here, each with its own recipe: a model declared in bench/zoo/ joins by being in a suite.
ENTRIES = {
    (e.model, e.dataset): e
    for name in ("quick", "standard")
    for e in suites.SUITES[name].entries
    if e.dataset in data.DATASET_NAMES
}
SUITE = suites.SUITES["quick"]
CELLS = [(f, m, d) for m, d in ENTRIES for f in FRAMEWORKS]
IDS = [f"{f}-{m}-{d}" for f, m, d in CELLS]
INFER_BATCHES = ("train", 1)  # the entry's training batch size, and one sample


@functools.cache
def _inputs(model: str, dataset: str) -> tuple[Any, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Spec, initial weights and one training batch of the pair (the suite's seed 0)."""
    ds = data.load(dataset)
    spec = suites.model_spec(model, dataset, ds.num_classes)
    batch = ENTRIES[model, dataset].recipe.batch_size
    x = data.as_model_input(ds.x_train[:batch], spec.input_shape)
    return spec, weights.init_weights(spec, 0), x, ds.y_train[:batch]


def _build(adapter: Adapter, model: str, dataset: str) -> tuple[Any, np.ndarray, np.ndarray]:
    spec, init, x, y = _inputs(model, dataset)
    recipe = ENTRIES[model, dataset].recipe
    return adapter.build(spec, init, recipe, lr_table(recipe)), x, y


def _describe(benchmark: Any, framework: str, model: str, dataset: str, phase: str,
              batch_size: int) -> None:  # fmt: skip
    benchmark.group = f"{model}/{dataset}"
    entry = ENTRIES[model, dataset]
    suite = SUITE.name if (model, dataset) in SUITE.pairs else "standard"
    benchmark.extra_info.update(
        framework=framework, model=model, dataset=dataset, phase=phase, batch_size=batch_size,
        suite=suite, recipe=entry.recipe.to_dict(), seed=0,
    )  # fmt: skip


@pytest.mark.parametrize(("framework", "model", "dataset"), CELLS, ids=IDS)
def test_train_step(
    benchmark: Any,
    adapter_for: Callable[[str], Adapter],
    step_rounds: dict[str, Any],
    framework: str,
    model: str,
    dataset: str,
) -> None:
    adapter = adapter_for(framework)
    net, x, y = _build(adapter, model, dataset)
    _describe(benchmark, framework, model, dataset, "train", len(x))
    xs, ys = x[None], y[None]  # one step: a round of length 1
    times, losses = benchmark.pedantic(adapter.train_round, args=(net, xs, ys), **step_rounds)
    assert len(times) == 1 and np.isfinite(losses).all()


# Named infer_batch, not batch_size: the importer reads an int batch_size from params first, and
# "train" (the entry's own batch size) is resolved into extra_info's batch_size below.
@pytest.mark.parametrize("infer_batch", INFER_BATCHES, ids=[f"b{b}" for b in INFER_BATCHES])
@pytest.mark.parametrize(("framework", "model", "dataset"), CELLS, ids=IDS)
def test_infer_step(
    benchmark: Any,
    adapter_for: Callable[[str], Adapter],
    step_rounds: dict[str, Any],
    framework: str,
    model: str,
    dataset: str,
    infer_batch: int | str,
) -> None:
    adapter = adapter_for(framework)
    net, x, _ = _build(adapter, model, dataset)
    size = len(x) if infer_batch == "train" else int(infer_batch)
    _describe(benchmark, framework, model, dataset, "infer", size)
    xs = x[None, :size]
    times = benchmark.pedantic(adapter.predict_round, args=(net, xs), **step_rounds)
    assert len(times) == 1
