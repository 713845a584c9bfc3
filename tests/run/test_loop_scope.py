"""The loop scope (issue 11 item 1): each framework's idiomatic input pipeline (DataLoader,
tf.data, Keras fit) trains on the same batches in the same order as the step scope, so a model
trained a few steps either way has the same loss trajectory (float32 tolerance)."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import numpy as np
import pytest

from bench.catalog.suites import model_spec
from bench.catalog.weights import init_weights
from bench.data import as_model_input, batch_order, load
from bench.zoo.specs import Recipe, Settings
from tests.run.frameworks import configured_adapter

STEPS = 6


@pytest.fixture(scope="module", params=["torch", "tf", "keras"])
def adapter(request: pytest.FixtureRequest) -> Any:
    return configured_adapter(request.param)


@pytest.mark.framework
@pytest.mark.parametrize(("model", "dataset"), [("mlp", "digits"), ("cnn", "mnist1d")])
def test_loop_scope_sees_the_step_scopes_batches_in_order(
    adapter: Any, model: str, dataset: str
) -> None:
    data = load(dataset)
    spec = model_spec(model, dataset, data.num_classes)
    recipe = Recipe(optimizer="adam", lr=1e-2, batch_size=32, steps=STEPS)
    weights = init_weights(spec, seed=5)
    lr = np.full(STEPS, 1e-2)
    x_train = as_model_input(data.x_train, spec.input_shape)
    idx = batch_order(len(data.y_train), recipe.batch_size, STEPS, seed=5)
    stepped = adapter.build(spec, weights, recipe, lr)
    _, step_losses = adapter.train_round(stepped, x_train[idx], data.y_train[idx])
    looped = adapter.build(spec, weights, recipe, lr)
    seconds, loop_losses = adapter.loop_window(looped, x_train, data.y_train, idx)
    assert seconds > 0 and loop_losses.shape == (STEPS,)
    # the trajectory moves (a stuck model would match any order), and the two scopes agree
    assert abs(step_losses[-1] - step_losses[0]) > 1e-3
    np.testing.assert_allclose(loop_losses, step_losses, rtol=1e-4, atol=1e-5)
    # a different batch order is told apart
    shuffled = adapter.build(spec, weights, recipe, lr)
    _, other = adapter.loop_window(shuffled, x_train, data.y_train, idx[::-1])
    assert not np.allclose(other, step_losses, rtol=1e-4, atol=1e-5)
    assert adapter.loop_pipeline["kind"]  # every setting is written out for the manifest


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
def test_the_runner_times_a_loop_window_per_pass_and_records_the_pipeline(tmp_path: Any) -> None:
    import os

    from rich.console import Console

    from bench.run.options import RunOptions
    from bench.run.progress import PlainReporter
    from bench.run.runner import Runner
    from bench.run.store import RunDir
    from bench.zoo.specs import Cell

    run_dir = RunDir.create(tmp_path / "run", {"run_id": "t"})
    reporter = PlainReporter(Console(file=open(os.devnull, "w")))  # noqa: SIM115
    options = RunOptions(timing_passes=2, pass_seconds=0.05, loop_steps=30, latency_calls=20)
    cell = Cell("torch", "mlp", "digits", "test", Recipe(steps=20, eval_every=10))
    Runner(run_dir, Settings(threads=1), options, reporter).run([cell])
    (record,) = run_dir.records()
    assert [w["pass"] for w in record["loop_windows"]] == [1, 2]
    assert all(w["scope"] == "loop" and w["steps"] == 30 for w in record["loop_windows"])
    assert all(w["samples_per_s"] > 0 for w in record["loop_windows"])
    assert record["manifest"]["pipeline"]["kind"] == "torch.utils.data.DataLoader"
    assert record["manifest"]["pipeline"]["num_workers"] == 0
