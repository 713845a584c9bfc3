"""The PyTorch adapter against NumPy: layouts, forward passes, gradients, optimizer arithmetic.

The NumPy references here work in the canonical layout (float64), so a passing forward test also
proves the canonical → torch weight conversion (conv transpose, flatten-order permutation, GRU
gate reorder). Tolerances: float32 forward passes of these sizes agree with float64 to ~1e-6;
1e-5 is the suite's parity tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench.catalog import SUITES, model_spec  # noqa: E402
from bench.data import as_model_input, batch_order, load  # noqa: E402
from bench.specs import ModelSpec, Recipe, Settings  # noqa: E402
from bench.weights import init_weights  # noqa: E402
from models.torch.adapter import TorchAdapter, create  # noqa: E402
from tests.models.reference import (  # noqa: E402
    inputs,
    logreg_loss_grads,
    numpy_step,
    reference_logits,
)

QUICK = SUITES["quick"].pairs
SETTINGS = Settings(device="cpu", threads=2, interop_threads=1)


@pytest.fixture(scope="module")
def adapter() -> TorchAdapter:
    a = create("torch")
    a.configure(SETTINGS)
    return a


# -- layouts and forward ------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "dataset"), QUICK)
def test_weights_round_trip_exactly(adapter: TorchAdapter, model: str, dataset: str) -> None:
    spec = model_spec(model, dataset)
    w = init_weights(spec, seed=3)
    m = adapter.build(spec, w, Recipe(), np.array([1e-2]))
    got = adapter.get_weights(m)
    assert set(got) == set(w)
    for name in w:
        assert got[name].dtype == np.float32 and got[name].shape == w[name].shape, name
        np.testing.assert_array_equal(got[name], w[name], err_msg=name)


@pytest.mark.parametrize(("model", "dataset"), QUICK)
def test_logits_match_numpy_reference(adapter: TorchAdapter, model: str, dataset: str) -> None:
    spec, x, _ = inputs(model, dataset, 16)
    w = init_weights(spec, seed=1)
    m = adapter.build(spec, w, Recipe(), np.array([1e-2]))
    got = adapter.logits(m, x)
    assert got.shape == (16, spec.num_classes) and got.dtype == np.float32
    np.testing.assert_allclose(got, reference_logits(spec, w, x), rtol=0, atol=1e-5)


# -- gradients ------------------------------------------------------------------------------------
def test_logreg_gradients_match_analytic(adapter: TorchAdapter) -> None:
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


@pytest.mark.parametrize(("model", "dataset"), [("cnn", "mnist1d"), ("gru", "mnist1d")])
def test_gradients_match_central_differences(
    adapter: TorchAdapter, model: str, dataset: str
) -> None:
    """Checks the gradient export layout on the permuted/reordered layers, a few entries each.

    float32 central differences with h = 1e-2 on a loss of O(1): truncation O(h²) ~ 1e-4,
    rounding ~ 1e-7/h ~ 1e-5, so 2e-3 absolute is a safe bound (the gradients are O(1e-2)).
    """
    spec, x, y = inputs(model, dataset, 20)
    w = init_weights(spec, seed=4)
    m = adapter.build(spec, w, Recipe(), np.array([1e-2]))
    _, grads = adapter.loss_and_gradients(m, x, y)
    rng = np.random.default_rng(0)
    names = ["linear.kernel", "conv1.kernel" if model == "cnn" else "gru.backward.bias"]
    for name in names:
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
def test_optimizer_steps_match_numpy(adapter: TorchAdapter, opt: str) -> None:
    """Three steps over two rounds with a per-step lr table and coupled weight decay: checks the
    formulas, the step counter across rounds (Adam bias correction) and the lr lookup past the
    end of the table."""
    spec = ModelSpec("logreg", (4,), 3)
    rng = np.random.default_rng(7)
    w = init_weights(spec, seed=0)
    x = rng.normal(size=(3, 5, 4)).astype(np.float32)
    y = rng.integers(3, size=(3, 5))
    extra = {"adagrad": {"initial_accumulator": 0.1}}.get(opt, {})
    recipe = Recipe(optimizer=opt, weight_decay=0.05, optimizer_args=extra)
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


# -- training, timing, evaluation ------------------------------------------------------------------
def test_training_reduces_loss_and_times_steps(adapter: TorchAdapter) -> None:
    spec = model_spec("mlp", "mnist1d")
    data = load("mnist1d")
    order = batch_order(len(data.y_train), 100, 30, seed=0)
    x = as_model_input(data.x_train[order.ravel()], spec.input_shape).reshape(30, 100, -1)
    y = data.y_train[order]
    m = adapter.build(spec, init_weights(spec, 0), Recipe(), np.full(30, 1e-2))
    times, losses = adapter.train_round(m, x, y)
    assert times.shape == (30,) and times.dtype == np.float64 and (times > 0).all()
    assert losses.shape == (30,) and losses.dtype == np.float32
    assert losses[-5:].mean() < 0.9 * losses[0]
    assert m.step == 30

    xt = as_model_input(data.x_test, spec.input_shape)
    loss, acc = adapter.evaluate(m, xt, data.y_test, batch_size=300)  # last batch partial
    assert 0.0 <= acc <= 1.0 and np.isfinite(loss)
    ref = reference_logits(spec, adapter.get_weights(m), xt)
    assert acc == pytest.approx(float((ref.argmax(1) == data.y_test).mean()), abs=2e-3)

    pred = adapter.predict_round(m, x[:4])
    assert pred.shape == (4,) and (pred > 0).all()
    assert adapter.peak_device_memory() is None


def test_configure_manifest_and_is_repeatable(adapter: TorchAdapter) -> None:
    first = adapter.configure(SETTINGS)
    second = adapter.configure(SETTINGS)
    assert first == second
    assert first["threads_intra"] == 2 and first["threads_inter"] == torch.get_num_interop_threads()
    assert first["compile"] == "eager" and first["precision"] == "float32"
    assert first["tf32"] is False and first["deterministic"] is False
    assert first["versions"] == {"torch": torch.__version__}
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA requested"):
            create("torch").configure(Settings(device="cuda", threads=2))


@pytest.mark.slow
def test_compiled_variant_matches_eager(adapter: TorchAdapter) -> None:
    spec, x, y = inputs("mlp", "mnist1d", 200)
    w = init_weights(spec, 0)
    comp = create("torch:compile", compile=True)
    assert comp.configure(SETTINGS)["compile"] == "torch.compile"
    eager_m = adapter.build(spec, w, Recipe(), np.array([1e-2]))
    comp_m = comp.build(spec, w, Recipe(), np.array([1e-2]))
    xb, yb = x.reshape(2, 100, -1), y.reshape(2, 100)
    _, l_eager = adapter.train_round(eager_m, xb, yb)
    _, l_comp = comp.train_round(comp_m, xb, yb)
    np.testing.assert_allclose(l_comp, l_eager, rtol=1e-5)
    ge, gc = adapter.get_weights(eager_m), comp.get_weights(comp_m)
    for k in ge:
        np.testing.assert_allclose(gc[k], ge[k], rtol=0, atol=1e-5, err_msg=k)
