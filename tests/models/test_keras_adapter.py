"""The Keras adapter against NumPy, on the tensorflow backend here and the torch one in a child.

KERAS_BACKEND must be set before keras is first imported in this process (tests/conftest.py and
the setdefault below both do it); a process already running keras on another backend skips this
module rather than benchmarking the wrong backend. The NumPy references are float64; float32
Keras agrees to ~1e-6 on these sizes, so 1e-5 (the suite's parity tolerance) is used throughout.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")
if keras.backend.backend() != "tensorflow":
    pytest.skip("keras already runs on another backend in this process", allow_module_level=True)

from bench.catalog.suites import SUITES, model_spec  # noqa: E402
from bench.catalog.weights import init_weights  # noqa: E402
from bench.data import as_model_input, batch_order, load  # noqa: E402
from bench.zoo.specs import ModelSpec, Recipe, Settings  # noqa: E402
from models.keras.adapter import KerasAdapter, create  # noqa: E402
from models.keras.optim import LrTable, TorchArithmetic  # noqa: E402

QUICK = SUITES["quick"].pairs
SETTINGS = Settings(device="cpu", threads=2, interop_threads=1)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def adapter() -> KerasAdapter:
    a = create("keras", backend="tensorflow")
    a.configure(SETTINGS)
    return a


def _batch(model: str, dataset: str, n: int) -> tuple[ModelSpec, np.ndarray, np.ndarray]:
    spec = model_spec(model, dataset)
    data = load(dataset)
    return spec, as_model_input(data.x_train[:n], spec.input_shape), data.y_train[:n]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _logreg_loss_grad(
    w: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean softmax cross-entropy of a linear model and its analytic gradient, float64."""
    x = x.reshape(len(x), -1).astype(np.float64)
    p = _softmax(x @ w["linear.kernel"] + w["linear.bias"])
    loss = -np.log(p[np.arange(len(y)), y]).mean()
    d = p.copy()
    d[np.arange(len(y)), y] -= 1
    d /= len(y)
    return float(loss), {"linear.kernel": x.T @ d, "linear.bias": d.sum(axis=0)}


# -- backend and settings -----------------------------------------------------------------------
def test_backend_is_checked(adapter: KerasAdapter) -> None:
    assert keras.backend.backend() == "tensorflow"
    with pytest.raises(RuntimeError, match="backend"):
        create("keras:torch", backend="torch")


def test_configure_twice_reports_what_is_in_force(adapter: KerasAdapter) -> None:
    m = adapter.configure(SETTINGS)  # second call in this process: must not fail
    assert (m["threads_intra"], m["threads_inter"]) == (2, 1)
    assert m["tf32"] is False and m["precision"] == "fp32" and m["device"] == "cpu"
    assert m["compile"] == "tf.function"  # Keras's jit_compile="auto" is off on CPU-only TF
    assert set(m["versions"]) == {"keras", "tensorflow"}
    assert any("custom keras.optimizers.Optimizer" in n for n in m["notes"])


# -- layouts and forward ------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "dataset"), QUICK)
def test_weights_round_trip_and_logits_shape(
    adapter: KerasAdapter, model: str, dataset: str
) -> None:
    spec, x, _ = _batch(model, dataset, 7)
    w = init_weights(spec, 3)
    m = adapter.build(spec, w, Recipe(), np.array([1e-2], np.float32))
    got = adapter.get_weights(m)
    assert list(got) == list(w)  # canonical names, canonical order
    for name in w:
        np.testing.assert_array_equal(got[name], w[name], err_msg=name)
    assert adapter.logits(m, x).shape == (7, spec.num_classes)
    assert not m.jit_compile


def test_logreg_loss_and_gradients_match_numpy(adapter: KerasAdapter) -> None:
    spec, x, y = _batch("logreg", "mnist1d", 50)
    w = init_weights(spec, 0)
    m = adapter.build(spec, w, Recipe(), np.array([1e-2], np.float32))
    loss, grads = adapter.loss_and_gradients(m, x, y)
    ref_loss, ref = _logreg_loss_grad(w, x, y)
    assert loss == pytest.approx(ref_loss, abs=1e-5)
    for name in ref:
        np.testing.assert_allclose(grads[name], ref[name], rtol=1e-4, atol=1e-6, err_msg=name)


def test_gru_gradients_match_central_differences(adapter: KerasAdapter) -> None:
    """Central differences in float32: step 1e-2 on a loss of ~2 gives truncation ~1e-4·f''' and
    rounding ~1e-7/1e-2 = 1e-5, so 2e-3 absolute on gradients of size ~1e-2..1e-1 is safe."""
    spec, x, y = _batch("gru", "mnist1d", 20)
    w = init_weights(spec, 0)
    m = adapter.build(spec, w, Recipe(), np.array([1e-2], np.float32))
    _, grads = adapter.loss_and_gradients(m, x, y)
    h = 1e-2
    for name, idx in [("gru.backward.bias", (1, 2)), ("gru.forward.recurrent_kernel", (3, 13))]:
        losses = []
        for sign in (1, -1):
            moved = {k: v.copy() for k, v in w.items()}
            moved[name][idx] += sign * h
            moved_model = adapter.build(spec, moved, Recipe(), np.array([1.0], np.float32))
            losses.append(adapter.loss_and_gradients(moved_model, x, y)[0])
        assert grads[name][idx] == pytest.approx((losses[0] - losses[1]) / (2 * h), abs=2e-3)


# -- optimizer arithmetic -----------------------------------------------------------------------
def _numpy_steps(
    opt: str, args: dict[str, float], wd: float, lr: list[float], w: dict, xs, ys
) -> dict[str, np.ndarray]:
    """PyTorch's formulas in float64 (the contract's reference), one step per batch."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    state: dict[str, dict[str, np.ndarray]] = {k: {} for k in w}
    for t, (x, y) in enumerate(zip(xs, ys, strict=True), start=1):
        rate = lr[min(t - 1, len(lr) - 1)]
        _, grads = _logreg_loss_grad(w, x, y)
        for k in w:
            g, s = grads[k] + wd * w[k], state[k]
            if opt == "sgd":
                w[k] -= rate * g
            elif opt == "momentum":
                s["buf"] = g if t == 1 else args["momentum"] * s["buf"] + g
                w[k] -= rate * s["buf"]
            elif opt == "adam":
                b1, b2 = args["beta1"], args["beta2"]
                s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
                s["v"] = b2 * s.get("v", 0) + (1 - b2) * g**2
                m_hat, v_hat = s["m"] / (1 - b1**t), s["v"] / (1 - b2**t)
                w[k] -= rate * m_hat / (np.sqrt(v_hat) + args["eps"])
            elif opt == "adagrad":
                s["s"] = s.get("s", args["initial_accumulator"]) + g**2
                w[k] -= rate * g / (np.sqrt(s["s"]) + args["eps"])
            else:
                s["v"] = args["alpha"] * s.get("v", 0) + (1 - args["alpha"]) * g**2
                w[k] -= rate * g / (np.sqrt(s["v"]) + args["eps"])
    return w


@pytest.mark.parametrize(
    ("opt", "args", "wd"),
    [
        ("sgd", {}, 0.01),
        ("momentum", {"momentum": 0.8}, 0.01),
        ("adam", {"beta1": 0.8, "beta2": 0.9, "eps": 1e-3}, 0.01),
        ("adagrad", {"initial_accumulator": 0.1, "eps": 1e-3}, 0.01),
        ("rmsprop", {"alpha": 0.9, "eps": 1e-3}, 0.01),
    ],
)
def test_optimizer_steps_match_numpy(
    adapter: KerasAdapter, opt: str, args: dict[str, float], wd: float
) -> None:
    """Three steps on a tiny logreg with a 2-entry lr table (step 3 reuses the last rate).

    eps is large so the comparison is well conditioned (tiny gradients over sqrt(v) + 1e-8
    amplify float32 rounding); the formula, not the conditioning, is what is tested.
    """
    spec = ModelSpec("logreg", (4,), 3)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(3, 8, 4)).astype(np.float32)
    ys = rng.integers(0, 3, size=(3, 8))
    w = init_weights(spec, 1)
    lr = [0.1, 0.05]
    recipe = Recipe(optimizer=opt, optimizer_args=args, weight_decay=wd)
    m = adapter.build(spec, w, recipe, np.array(lr, np.float32))
    adapter.train_round(m, xs[:1], ys[:1])  # the step counter carries across rounds
    adapter.train_round(m, xs[1:], ys[1:])
    ref = _numpy_steps(opt, recipe.optimizer_args, wd, lr, w, xs, ys)
    got = adapter.get_weights(m)
    for name in w:
        np.testing.assert_allclose(got[name], ref[name], atol=1e-6, rtol=1e-5, err_msg=name)
    assert m.optimizer.weight_decay is None  # Keras's decoupled decay stays off


def test_stock_keras_adam_differs_by_a_bounded_amount() -> None:
    """Why the custom optimizer exists, measured: one step with |g| = 1e-6 and lr = 1e-2.

    torch: lr·g/(|g| + eps) = 9.90e-3. keras.optimizers.Adam(epsilon=1e-8) puts eps on sqrt(v)
    before the bias correction, i.e. lr·g/(|g| + eps/sqrt(1 - b2)) = 7.60e-3: the first step
    differs by 2.30e-3 (23% of the step), 230x the suite's 1e-5 parity tolerance.
    """
    g = np.full((5,), 1e-6, np.float32)
    moved = {}
    for label, opt in [
        ("ours", TorchArithmetic("adam", LrTable(np.array([1e-2])), 0.0, Recipe().optimizer_args)),
        ("stock", keras.optimizers.Adam(learning_rate=1e-2, epsilon=1e-8)),
    ]:
        v = keras.Variable(np.zeros(5, np.float32))
        opt.apply_gradients([(keras.ops.convert_to_tensor(g), v)])
        moved[label] = -keras.ops.convert_to_numpy(v)
    np.testing.assert_allclose(moved["ours"], 1e-2 * 1e-6 / (1e-6 + 1e-8), rtol=1e-5)
    deviation = float(np.abs(moved["ours"] - moved["stock"]).max())
    assert deviation == pytest.approx(2.30e-3, rel=0.01)
    assert 1e-4 < deviation < 0.25 * 1e-2


# -- training loop, evaluation, timing ----------------------------------------------------------
def test_train_round_losses_times_and_learning(adapter: KerasAdapter) -> None:
    spec = model_spec("mlp", "mnist1d")
    data = load("mnist1d")
    x_all = as_model_input(data.x_train, spec.input_shape)
    order = batch_order(len(x_all), 100, 30, seed=0)
    x, y = x_all[order], data.y_train[order]
    w = init_weights(spec, 0)
    m = adapter.build(spec, w, SUITES["quick"].recipe, np.full(30, 1e-2, np.float32))
    before, _ = adapter.loss_and_gradients(m, x[0], y[0])
    seconds, losses = adapter.train_round(m, x, y)
    assert seconds.shape == (30,) and seconds.dtype == np.float64 and (seconds > 0).all()
    assert losses.shape == (30,) and losses.dtype == np.float32
    # each step's logged loss is the loss before that step's update
    assert losses[0] == pytest.approx(before, abs=1e-5)
    assert losses[-5:].mean() < losses[:5].mean() - 0.3
    loss, acc = adapter.evaluate(m, as_model_input(data.x_test, spec.input_shape), data.y_test, 100)
    assert 0.0 <= acc <= 1.0 and acc > 0.2 and np.isfinite(loss)
    ps = adapter.predict_round(m, x[:5])
    assert ps.shape == (5,) and (ps > 0).all()
    assert adapter.peak_device_memory() is None


# -- the torch backend, in a child process ------------------------------------------------------
_CHILD = """
import json, sys
import numpy as np
from bench.catalog.suites import model_spec
from bench.data import as_model_input, load
from bench.zoo.specs import Recipe, Settings
from bench.catalog.weights import init_weights
from models.keras.adapter import create
a = create("keras:torch", backend="torch")
man = a.configure(Settings(threads=1, interop_threads=1))
out = {"versions": man["versions"], "compile": man["compile"]}
for model, dataset in [("cnn", "mnist1d"), ("gru", "mnist1d")]:
    spec = model_spec(model, dataset)
    d = load(dataset)
    x = as_model_input(d.x_train[:200], spec.input_shape).reshape(2, 100, *spec.input_shape)
    y = d.y_train[:200].reshape(2, 100)
    w = init_weights(spec, 0)
    m = a.build(spec, w, Recipe(), np.array([1e-2], np.float32))
    got = a.get_weights(m)
    same = all(np.array_equal(got[k], w[k]) for k in w)
    logits = a.logits(m, x[0]).tolist()
    seconds, losses = a.train_round(m, x, y)
    after = {k: v.tolist() for k, v in a.get_weights(m).items()}
    out[model] = {"same": same, "logits": logits, "seconds": seconds.tolist(),
                  "losses": losses.tolist(), "after": after}
print("RESULT" + json.dumps(out))
"""


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
def test_torch_backend_matches_tensorflow_backend(adapter: KerasAdapter) -> None:
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(s for s in proc.stdout.splitlines() if s.startswith("RESULT"))
    child = json.loads(line[len("RESULT") :])
    assert set(child["versions"]) == {"keras", "torch"} and child["compile"] == "eager"
    for model in ("cnn", "gru"):
        spec = model_spec(model, "mnist1d")
        d = load("mnist1d")
        x = as_model_input(d.x_train[:200], spec.input_shape).reshape(2, 100, *spec.input_shape)
        y = d.y_train[:200].reshape(2, 100)
        m = adapter.build(spec, init_weights(spec, 0), Recipe(), np.array([1e-2], np.float32))
        c = child[model]
        assert c["same"]
        np.testing.assert_allclose(c["logits"], adapter.logits(m, x[0]), atol=1e-5)
        _, losses = adapter.train_round(m, x, y)
        assert len(c["seconds"]) == 2 and min(c["seconds"]) > 0
        np.testing.assert_allclose(c["losses"], losses, atol=1e-5)
        # after two Adam steps: weights whose gradient is ~eps move by a rounding-sensitive
        # lr·g/(|g| + eps), so 1e-4 here (the one-step parity check is
        # tests/models/test_parity.py's)
        for name, value in adapter.get_weights(m).items():
            np.testing.assert_allclose(c["after"][name], value, atol=1e-4, err_msg=name)
