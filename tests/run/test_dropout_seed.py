"""How the run's seed reaches dropout, and why the shared-mask mode never reaches a figure
(bench/zoo/dropout.py; no framework here: tests/models/test_dropout.py trains the models)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bench import zoo
from bench.catalog import suites
from bench.run.cells import group_inputs
from bench.run.worker import Worker
from bench.zoo import dropout
from bench.zoo.specs import Cell, ModelSpec

SPEC = zoo.get("transformer").tiny


def test_group_inputs_send_the_run_seed_with_the_spec() -> None:
    recipe = suites.variant("transformer", "mnist1d").recipe
    cell = Cell("torch", "transformer", "mnist1d", "standard", recipe, seed=4)
    spec, inputs = group_inputs(cell)
    sent = ModelSpec.from_dict(inputs["spec"])
    assert dropout.Draws.of(sent) == dropout.Draws.of(spec) == dropout.Draws(4, shared=False)


def test_masks_are_a_function_of_seed_site_and_step() -> None:
    draws = dropout.Draws(3, shared=True)
    mask = draws.mask("block0_dropout1", 5, (64, 10, 32), 0.25)
    assert mask.dtype == np.float32 and set(np.unique(mask)) == {0.0, np.float32(1 / 0.75)}
    assert abs(float((mask == 0).mean()) - 0.25) < 0.01
    np.testing.assert_array_equal(mask, draws.mask("block0_dropout1", 5, (64, 10, 32), 0.25))
    for other in (
        draws.mask("block0_dropout2", 5, (64, 10, 32), 0.25),
        draws.mask("block0_dropout1", 6, (64, 10, 32), 0.25),
        dropout.Draws(4, shared=True).mask("block0_dropout1", 5, (64, 10, 32), 0.25),
    ):
        assert not np.array_equal(mask, other)


def test_site_seeds_differ_by_site_and_fit_31_bits() -> None:
    draws = dropout.Draws(0)
    sites = ["embedding_dropout", "block0_attention", "block0_dropout1", "block1_dropout1"]
    seeds = [draws.site_seed(s) for s in sites]
    assert len(set(seeds)) == len(seeds) and all(0 <= s < 2**31 for s in seeds)
    assert seeds[0] != dropout.Draws(1).site_seed(sites[0])


def test_modes_read_from_the_spec() -> None:
    assert dropout.Draws.of(SPEC) == dropout.Draws(0, shared=False)
    assert dropout.Draws.of(dropout.shared(SPEC, 9)) == dropout.Draws(9, shared=True)
    with pytest.raises(ValueError, match="dropout_masks"):
        dropout.Draws.of(ModelSpec("transformer", (8,), 3, {dropout.MASKS: "mine"}))


class _NoAdapter:
    """Fails the test if the worker ever gets as far as building."""

    def reset_peak_device_memory(self) -> None: ...

    def build(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the worker built a shared-mask model")


def test_the_worker_refuses_shared_masks() -> None:
    """Every model a run trains or times is built by the worker's op_build."""
    worker = Worker(_NoAdapter(), baseline_rss=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="parity-test mode"):
        worker.op_build({"spec": dropout.shared(SPEC).to_dict(), "recipe": {}})
