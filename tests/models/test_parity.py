"""Parity between frameworks: the reason anyone should believe a comparison.

For every registered (model, dataset) and every pair of frameworks, the same canonical weights
and the same batch must give the same logits, loss and gradients, and the same weights after one
optimizer step (Adam, the paper's optimizer, plus the other four optimizers on the MLP).

Every registered architecture (ResNets included, at their tiny configurations) is also checked
framework by framework against the float64 NumPy reference, in train and eval mode, with
BatchNorm state, in tests/models/test_zoo.py; agreement with one reference implies agreement
between every pair.

Tolerances (float32): logits max-abs ≤ 1e-5; loss abs ≤ 1e-5; gradients relative ≤ 1e-4 as
max|a − b| / max|b| per tensor; weights after one step max-abs ≤ 1e-5. Each model's batch is
chosen (deterministically) so that no pre-ReLU activation sits within float32 rounding of zero:
see ``RELU_MARGIN``.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import replace

import numpy as np
import pytest

from bench import data
from bench.catalog import suites, weights
from bench.catalog.architectures import layers, trainable_names
from bench.catalog.frameworks import get_variant
from bench.catalog.schedules import lr_table
from bench.run.adapter import Adapter, load_adapter
from bench.zoo import layers as kinds
from bench.zoo.specs import Recipe, Settings
from tests.conftest import installed
from tests.models.reference import Reference

FRAMEWORKS = [f for f in ("torch", "tf", "keras") if get_variant(f).available()]
PAIRS = list(itertools.combinations(FRAMEWORKS, 2))
#: Every registered pair on the bundled real data (at full size: these models are small). The
#: ResNets on image-sized and file datasets are checked at their tiny sizes in test_zoo.py.
MODELS = [
    (m, d)
    for d, ms in suites.MODELS_BY_DATASET.items()
    if d in data.DATASET_NAMES and data.info(d).source == "bundled"
    for m in ms
]
BATCH = 64
#: A smaller batch where a model has many ReLU inputs: fewer activations sit near zero.
BATCH_OF = {"resnet20": 16}
#: The nearest pre-ReLU activation to zero, relative to its layer's largest, that a parity batch
#: may have. Nearer than this, float32 rounding in one framework's kernels (TF's oneDNN convs
#: under Keras gave exactly 0 where float64 gives 1.7e-6 at a scale of 4) flips the ReLU and
#: moves a gradient by 5e-3: a property of the batch, not a layout bug.
RELU_MARGIN = 3e-6
LOGIT_ATOL = 1e-5
LOSS_ATOL = 1e-5
GRAD_RTOL = 1e-4
STEP_ATOL = 1e-5

pytestmark = pytest.mark.skipif(len(FRAMEWORKS) < 2, reason="parity needs two frameworks")

_adapters: dict[str, Adapter] = {}


def adapter(name: str) -> Adapter:
    if name not in _adapters:
        a = load_adapter(get_variant(name))
        a.configure(Settings(threads=2, interop_threads=1))
        _adapters[name] = a
    return _adapters[name]


@functools.cache
def batch(model: str, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """The first batch, in the suite's own order over seeds 0, 1, ..., whose every pre-ReLU
    activation (float64 reference, training mode) is at least ``RELU_MARGIN`` from zero."""
    ds = data.load(dataset)
    spec = suites.model_spec(model, dataset)
    size = BATCH_OF.get(model, BATCH)
    margins = []
    for seed in range(20):
        idx = data.batch_order(len(ds.y_train), size, 1, seed=seed)[0]
        x = data.as_model_input(ds.x_train[idx], spec.input_shape)
        margins.append(relu_margin(spec, x))
        if margins[-1] >= RELU_MARGIN:
            return x, ds.y_train[idx]
    raise AssertionError(f"no batch of {model}/{dataset} clears the ReLU margin: {margins}")


def relu_margin(spec, x: np.ndarray) -> float:
    """min |pre-ReLU activation| / max |activation| over every ReLU layer (inf if none)."""
    margin = np.inf
    if not any(isinstance(layer, kinds.ReLU) for layer in layers(spec)):
        return margin
    ref = Reference(spec, weights.init_weights(spec, 0))
    ref.forward(x, training=True)
    for layer in ref.table:
        if isinstance(layer, kinds.ReLU):
            pre = np.abs(ref.outputs[ref.sources[layer.name][0]])
            margin = min(margin, float(pre.min() / max(pre.max(), 1e-300)))
    return margin


def build(name: str, model: str, dataset: str, recipe: Recipe, seed: int = 0):
    spec = suites.model_spec(model, dataset)
    if spec.params.get("dropout"):  # each framework draws its own masks: parity at rate 0
        spec = replace(spec, params={**spec.params, "dropout": 0.0})
    return adapter(name).build(spec, weights.init_weights(spec, seed), recipe, lr_table(recipe))


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-12))


ADAM = replace(suites.PAPER_RECIPE, steps=1, batch_size=BATCH)


@pytest.mark.parametrize(("model", "dataset"), MODELS)
@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_logits_loss_and_gradients_agree(a: str, b: str, model: str, dataset: str) -> None:
    x, y = batch(model, dataset)
    ma, mb = build(a, model, dataset, ADAM), build(b, model, dataset, ADAM)
    la, lb = adapter(a).logits(ma, x), adapter(b).logits(mb, x)
    assert la.shape == lb.shape and la.shape[0] == len(x)  # (batch, 10), or an LM's (B, T, V)
    assert np.max(np.abs(la - lb)) <= LOGIT_ATOL

    loss_a, grads_a = adapter(a).loss_and_gradients(ma, x, y)
    loss_b, grads_b = adapter(b).loss_and_gradients(mb, x, y)
    assert abs(loss_a - loss_b) <= LOSS_ATOL
    spec = suites.model_spec(model, dataset)
    assert set(grads_a) == set(grads_b) == set(trainable_names(spec))
    # Attention's key bias has a zero gradient in exact arithmetic (softmax is shift-invariant):
    # both frameworks' rounding noise, judged against the largest gradient.
    zero = {k for k in grads_a if k.endswith(".key.bias")}
    worst = {k: rel_err(grads_a[k], grads_b[k]) for k in grads_a if k not in zero}
    assert max(worst.values()) <= GRAD_RTOL, worst
    scale = max(float(np.abs(g).max()) for g in grads_b.values())
    for k in zero:
        assert float(np.abs(grads_a[k] - grads_b[k]).max()) <= GRAD_RTOL * scale, k


@pytest.mark.parametrize(("model", "dataset"), MODELS)
@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_one_step_of_the_models_recipe_agrees(a: str, b: str, model: str, dataset: str) -> None:
    """Adam (the paper's optimizer) for the paper's models; a model with a declared recipe (the
    ResNets: SGD with momentum and coupled weight decay) takes one step of that recipe. Adam's
    first step, g / (|g| + eps), amplifies float32 rounding wherever |g| is near eps, which
    BatchNorm's scale invariance makes common in the convs before it."""
    x, y = batch(model, dataset)
    declared = suites.variant(model, dataset).recipe
    recipe = replace(ADAM if declared is None else declared, steps=1, batch_size=len(x))
    ma, mb = build(a, model, dataset, recipe), build(b, model, dataset, recipe)
    adapter(a).train_round(ma, x[None], y[None])
    adapter(b).train_round(mb, x[None], y[None])
    wa, wb = adapter(a).get_weights(ma), adapter(b).get_weights(mb)
    start = weights.init_weights(suites.model_spec(model, dataset), 0)
    tiny = ill_conditioned(b, model, dataset, recipe, x, y)
    for name in start:
        assert not np.array_equal(wa[name], start[name]), f"{a} did not update {name}"
        diff = np.abs(wa[name] - wb[name])
        ill = tiny.get(name, np.zeros(diff.shape, bool))  # BatchNorm state has no gradient
        assert np.max(diff[~ill], initial=0.0) <= STEP_ATOL, name
        # where |g| is within 10 eps Adam's g / (|g| + eps) is ill-conditioned (an LM head's
        # row for a token the batch hardly predicts: g = 2e-8 moved 1.4e-5 apart); there each
        # framework's step is still at most lr
        assert np.max(diff[ill], initial=0.0) <= 2 * recipe.lr, name


def ill_conditioned(
    framework: str, model: str, dataset: str, recipe: Recipe, x: np.ndarray, y: np.ndarray
) -> dict[str, np.ndarray]:
    """Per weight, the elements whose first Adam step is ill-conditioned (|g| < 10 eps);
    none for other optimizers."""
    grads = adapter(framework).loss_and_gradients(build(framework, model, dataset, recipe), x, y)[1]
    if recipe.optimizer not in ("adam", "adamw"):
        return {k: np.zeros(g.shape, bool) for k, g in grads.items()}
    eps = float(recipe.optimizer_args.get("eps", 1e-8))
    return {k: np.abs(g) < 10 * eps for k, g in grads.items()}


OPTIMIZERS = [
    Recipe(optimizer="sgd", lr=0.1, steps=3, weight_decay=1e-3, batch_size=BATCH),
    Recipe(optimizer="momentum", lr=0.05, steps=3, weight_decay=1e-3, batch_size=BATCH),
    Recipe(optimizer="adam", lr=1e-2, steps=3, weight_decay=1e-3, batch_size=BATCH),
    Recipe(optimizer="adagrad", lr=0.05, steps=3, batch_size=BATCH),
    Recipe(optimizer="rmsprop", lr=1e-3, steps=3, batch_size=BATCH),
    Recipe(optimizer="sgd", lr=0.1, steps=3, schedule="cosine", batch_size=BATCH),
]


@pytest.mark.parametrize("recipe", OPTIMIZERS, ids=lambda r: f"{r.optimizer}-{r.schedule}")
@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_three_steps_of_every_optimizer_agree(a: str, b: str, recipe: Recipe) -> None:
    """Slots, step counters, coupled weight decay and the lr table, over three steps."""
    x, y = batch("mlp", "mnist1d")
    xs, ys = np.stack([x] * 3), np.stack([y] * 3)
    ma, mb = build(a, "mlp", "mnist1d", recipe), build(b, "mlp", "mnist1d", recipe)
    _, loss_a = adapter(a).train_round(ma, xs, ys)
    _, loss_b = adapter(b).train_round(mb, xs, ys)
    np.testing.assert_allclose(loss_a, loss_b, atol=1e-5)
    wa, wb = adapter(a).get_weights(ma), adapter(b).get_weights(mb)
    for name in wa:
        assert np.max(np.abs(wa[name] - wb[name])) <= 2 * STEP_ATOL, name


def test_the_suite_compares_at_least_torch_and_tf() -> None:
    """Guard: parity is only meaningful if the frameworks are really installed here."""
    assert installed("torch", "tensorflow", "keras"), "install the [all] extra to test parity"
