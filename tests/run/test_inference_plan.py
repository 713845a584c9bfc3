"""The inference measurement's size on the large suite's cells: bounded in FLOPs per call and in
output bytes, so GPT-2's 50,257-way logits at 512 positions cannot ask for 100 GB (a batch of
1,000 did, and the worker was killed), while the small models keep their 1,000-sample batch."""

from __future__ import annotations

import math

import pytest

from bench.catalog import flops
from bench.catalog.suites import model_spec
from bench.run.options import (
    INFERENCE_FLOP_BUDGET,
    INFERENCE_OUTPUT_BYTES,
    RunOptions,
    inference_plan,
    output_bytes,
)


def plan(model: str, dataset: str) -> tuple[int, int, int, int, int]:
    spec = model_spec(model, dataset)
    f, out = flops.forward_flops(spec), output_bytes(spec)
    calls, batch, n = inference_plan(f, 4 * math.prod(spec.input_shape), RunOptions(), out)
    return calls, batch, n, f, out


def test_language_model_output_is_logits_at_every_position() -> None:
    spec = model_spec("gpt", "synthetic-tokens-gpt2")
    assert output_bytes(spec) == 4 * 512 * 50_257
    assert output_bytes(model_spec("mlp", "mnist1d")) == 4 * 10


@pytest.mark.parametrize(
    "model,dataset", [("gpt", "synthetic-tokens-gpt2"), ("transformer", "synthetic-tokens-bert")]
)
def test_large_sequence_cells_stay_within_the_budgets(model: str, dataset: str) -> None:
    calls, batch, n, f, out = plan(model, dataset)
    assert 1 <= batch < 1000
    assert batch * out <= INFERENCE_OUTPUT_BYTES
    assert batch == 1 or batch * f <= INFERENCE_FLOP_BUDGET
    assert calls >= 20 and n >= 5


def test_small_models_keep_the_default_batch() -> None:
    calls, batch, n, _, _ = plan("mlp", "mnist1d")
    assert (calls, batch, n) == (200, 1000, 30)
