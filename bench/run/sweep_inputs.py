"""What a throughput point's workers are sent when the point changes the model's input: a
sequence length other than the data set's (``bench sweep --seq-lens``) and the architecture's
tiny configuration (``--tiny``).

A length point's data are generated at that length (the Markov source and the synthetic token
sets can emit any length, :func:`bench.data.load_at_length`) and its spec takes it as the
model's T; everything else (initial weights from the spec, the lr table, the batch order) is the
ordinary group's (:func:`bench.run.cells.group_inputs`). ``tiny`` keeps the data's vocabulary and
task and takes the layer count, width and heads of the architecture's tiny configuration (the
one the parity tests run), so attention's T² term shows in minutes on 2 cores instead of
BERT-base's seconds a step.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bench import data, zoo
from bench.catalog import suites
from bench.run.cells import group_inputs
from bench.zoo.specs import Cell, ModelSpec

#: Spec parameters a tiny configuration keeps from the full one (they belong to the data).
DATA_PARAMS = ("task", "vocab_size", "padding")


def tiny_spec(spec: ModelSpec) -> ModelSpec:
    """``spec`` with its architecture's tiny layers and width, on the same data."""
    tiny = zoo.REGISTRY[spec.name].tiny
    params = {**tiny.params, **{k: spec.params[k] for k in DATA_PARAMS if k in spec.params}}
    params.pop("positions", None)  # the position table is the input's length
    return replace(spec, params=params)


def point_inputs(cell: Cell, data_dir: str | None = None) -> tuple[ModelSpec, dict[str, Any]]:
    """The group's inputs of a throughput point (its length and size applied)."""
    if cell.seq_len is None and not cell.tiny:
        return group_inputs(cell, data_dir)
    if cell.seq_len is not None:
        dataset = data.load_at_length(cell.dataset, cell.seq_len, cell.seed)
    else:
        dataset = data.load(cell.dataset, data_dir=data_dir, seed=cell.seed)
    spec = suites.model_spec(cell.model, cell.dataset, dataset.num_classes, cell.suite)
    if cell.tiny:
        spec = tiny_spec(spec)
    if cell.seq_len is not None:
        positions = spec.params.get("positions")
        if positions is not None and positions < cell.seq_len:
            spec = replace(spec, params={**spec.params, "positions": cell.seq_len})
        spec = replace(spec, input_shape=(cell.seq_len, *spec.input_shape[1:]))
    return group_inputs(cell, data_dir, dataset=dataset, spec=spec)
