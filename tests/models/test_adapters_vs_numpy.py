"""Each framework's adapter against NumPy: layouts, forward passes, gradients, optimizer
arithmetic, training and evaluation, one parametrized test per property for torch and tf.

The NumPy references (tests/models/reference.py) work in the canonical layout (float64), so a
passing forward test proves the canonical → framework weight conversion (torch: conv transpose,
flatten-order permutation, GRU gate reorder; tf: canonical is its own layout, so explicit
symmetric padding + VALID convs, the reset-after GRU, the reversed backward direction) and the
hand-written optimizers. Tolerances: float32 forward passes of these sizes agree with float64 to
~1e-6; 1e-5 is the suite's parity tolerance. What only one framework has (torch.compile, XLA,
the tf.scan GRU, the fairness manifest) is tested in test_torch_adapter.py / test_tf_adapter.py.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from bench.catalog.suites import SUITES, model_spec
from bench.catalog.weights import init_weights
from bench.data import as_model_input, load
from bench.zoo.specs import ModelSpec, Recipe, Settings
from tests.models.reference import (
    inputs,
    logreg_loss_grads,
    mlp_batches,
    numpy_step,
    reference_logits,
)

QUICK = SUITES["quick"].pairs
SETTINGS = Settings(device="cpu", threads=2, interop_threads=1)
LIBRARY = {"torch": "torch", "tf": "tensorflow"}

# Optimizer steps taken so far, as each adapter's model counts them (Adam's bias correction).
STEPS_TAKEN: dict[str, Callable[[Any], int]] = {
    "torch": lambda m: m.step,
    "tf": lambda m: int(m.optimizer.step.numpy()),
}


@pytest.fixture(scope="module", params=["torch", "tf"])
def adapter(request: pytest.FixtureRequest) -> Any:
    pytest.importorskip(LIBRARY[request.param])
    module = importlib.import_module(f"models.{request.param}.adapter")
    a = module.create(request.param)
    a.configure(SETTINGS)
    return a


# -- layouts and forward ------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "dataset"), QUICK)
def test_weights_round_trip_exactly(adapter: Any, model: str, dataset: str) -> None:
    spec = model_spec(model, dataset)
    w = init_weights(spec, seed=3)
    m = adapter.build(spec, w, Recipe(), np.array([1e-2]))
    got = adapter.get_weights(m)
    assert set(got) == set(w)
    if adapter.name == "tf":
        assert list(got) == list(w)
    for name in w:
        assert got[name].dtype == np.float32 and got[name].shape == w[name].shape, name
        np.testing.assert_array_equal(got[name], w[name], err_msg=name)


@pytest.mark.parametrize(("model", "dataset"), QUICK)
def test_logits_match_numpy_reference(adapter: Any, model: str, dataset: str) -> None:
    spec, x, _ = inputs(model, dataset, 16)
    w = init_weights(spec, seed=1)
    m = adapter.build(spec, w, Recipe(), np.array([1e-2]))
    got = adapter.logits(m, x)
    assert got.shape == (16, spec.num_classes) and got.dtype == np.float32
    np.testing.assert_allclose(got, reference_logits(spec, w, x), rtol=0, atol=1e-5)


# -- gradients ------------------------------------------------------------------------------------
def test_logreg_gradients_match_analytic(adapter: Any) -> None:
    spec, x, y = inputs("logreg", "mnist1d", 50)
    w = init_weights(spec, seed=2)
    m = adapter.build(spec, w, Recipe(), np.array([1e-2]))
    loss, grads = adapter.loss_and_gradients(m, x, y)
    ref_loss, ref = logreg_loss_grads(w, x, y)
    assert loss == pytest.approx(ref_loss, rel=1e-6)
    for name in ref:
        np.testing.assert_allclose(grads[name], ref[name], rtol=1e-4, atol=1e-6, err_msg=name)
    # No update happened.
    np.testing.assert_array_equal(adapter.get_weights(m)["linear.kernel"], w["linear.kernel"])


@pytest.mark.parametrize(
    ("model", "dataset"), [("cnn", "mnist1d"), ("cnn", "digits"), ("gru", "mnist1d")]
)
def test_gradients_match_central_differences(adapter: Any, model: str, dataset: str) -> None:
    """A few entries of the conv kernel / GRU backward bias and the dense kernel: the gradient
    export layout on the permuted and reordered layers.

    float32 central differences with h = 1e-2 on a loss of O(1): truncation O(h²) ~ 1e-4,
    rounding ~ 1e-7/h ~ 1e-5, so 2e-3 absolute is a safe bound (the gradients are O(1e-2)).
    """
    spec, x, y = inputs(model, dataset, 20)
    w = init_weights(spec, seed=4)
    m = adapter.build(spec, w, Recipe(), np.array([1e-2]))
    _, grads = adapter.loss_and_gradients(m, x, y)
    rng = np.random.default_rng(0)
    for name in ["linear.kernel", "conv1.kernel" if model == "cnn" else "gru.backward.bias"]:
        for _ in range(3):
            idx = tuple(rng.integers(s) for s in w[name].shape)
            losses = []
            for sign in (1, -1):
                w2 = {k: v.copy() for k, v in w.items()}
                w2[name][idx] += sign * 1e-2
                m2 = adapter.build(spec, w2, Recipe(), np.array([1e-2]))
                losses.append(adapter.loss_and_gradients(m2, x, y)[0])
            fd = (losses[0] - losses[1]) / 2e-2
            assert grads[name][idx] == pytest.approx(fd, abs=2e-3), (name, idx)


# -- optimizer arithmetic -----------------------------------------------------------------------
@pytest.mark.parametrize("opt", ["sgd", "momentum", "adam", "adagrad", "rmsprop"])
def test_optimizer_steps_match_numpy(adapter: Any, opt: str) -> None:
    """Three steps over two rounds with a per-step lr table and coupled weight decay: checks the
    formulas, the step counter across rounds (Adam bias correction) and the lr lookup past the
    end of the table."""
    spec = ModelSpec("logreg", (4,), 3)
    rng = np.random.default_rng(7)
    w = init_weights(spec, seed=0)
    x = rng.normal(size=(3, 5, 4)).astype(np.float32)
    y = rng.integers(3, size=(3, 5))
    extra = {"adagrad": {"initial_accumulator": 0.1}}.get(opt, {})
    recipe = Recipe(optimizer=opt, weight_decay=0.05, batch_size=5, optimizer_args=extra)
    lr = np.array([0.1, 0.03])
    m = adapter.build(spec, w, recipe, lr)
    adapter.train_round(m, x[:1], y[:1])
    adapter.train_round(m, x[1:], y[1:])

    ref = {k: v.astype(np.float64) for k, v in w.items()}
    states: dict[str, dict] = {k: {} for k in ref}
    for t in (1, 2, 3):
        _, grads = logreg_loss_grads(ref, x[t - 1], y[t - 1])
        for k in ref:
            g = grads[k] + recipe.weight_decay * ref[k]
            ref[k] = numpy_step(
                opt, recipe.optimizer_args, ref[k], g, states[k], t, lr[min(t - 1, 1)]
            )
    got = adapter.get_weights(m)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=1e-5, err_msg=k)
    assert STEPS_TAKEN[adapter.name](m) == 3


# -- training, timing, evaluation ------------------------------------------------------------------
def test_training_reduces_loss_and_times_steps(adapter: Any) -> None:
    spec, x, y = mlp_batches(30)
    data = load("mnist1d")
    m = adapter.build(spec, init_weights(spec, 0), Recipe(), np.full(30, 1e-2))
    times, losses = adapter.train_round(m, x, y)
    assert times.shape == (30,) and times.dtype == np.float64 and (times > 0).all()
    assert losses.shape == (30,) and losses.dtype == np.float32
    assert losses[-5:].mean() < 0.9 * losses[0]
    assert STEPS_TAKEN[adapter.name](m) == 30
    if adapter.name == "tf":
        assert m.train_step(100).experimental_get_tracing_count() == 1  # one graph for the round

    xt = as_model_input(data.x_test, spec.input_shape)
    loss, acc = adapter.evaluate(m, xt, data.y_test, batch_size=300)  # last batch partial
    assert 0.0 <= acc <= 1.0 and np.isfinite(loss)
    ref = reference_logits(spec, adapter.get_weights(m), xt)
    assert acc == pytest.approx(float((ref.argmax(1) == data.y_test).mean()), abs=2e-3)

    pred = adapter.predict_round(m, x[:4])
    assert pred.shape == (4,) and (pred > 0).all()
    assert adapter.peak_device_memory() is None
    adapter.reset_peak_device_memory()
