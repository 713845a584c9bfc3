"""Every registered architecture, in every framework, against the float64 NumPy reference.

Parametrized over the registry (bench/zoo/): a new model is picked up with no edit here. Each
runs at its declared ``tiny`` configuration (ResNet-20: one basic block per stage, widths 4/8/16,
8x8x3 inputs; ResNet-50: one bottleneck per stage, 64x64x3), batch 8, random inputs, so the whole
file stays within a minute or two on 2 cores.

Tolerances (float32 against float64): logits in eval and train mode ≤ 1e-5 relative to the
logits' scale (max |a − b| / max |b|); gradients ≤ 1e-4 relative per tensor; BatchNorm running
mean/variance after one training step ≤ 1e-5 relative; weights after one SGD-momentum step with
coupled weight decay (the ResNet recipe's optimizer) ≤ 1e-5 relative.
"""

from __future__ import annotations

import importlib.util
import math
import os
from typing import Any

import numpy as np
import pytest

from bench import zoo
from bench.catalog import architectures, flops
from bench.catalog.frameworks import get_variant
from bench.catalog.suites import DATASET_CLASSES, model_spec
from bench.catalog.weights import init_weights
from bench.run.adapter import load_adapter
from bench.zoo import layers as kinds
from bench.zoo.specs import ModelSpec, Recipe, Settings
from tests.models.reference import Reference, reference_loss_and_gradients

#: BENCH_TEST_FRAMEWORKS=keras:jax (with KERAS_BACKEND=jax) runs this module for another Keras
#: backend in its own process: tests/models/test_keras_backends.py does that.
FRAMEWORKS = (
    os.environ.get("BENCH_TEST_FRAMEWORKS", "").split(",")
    if os.environ.get("BENCH_TEST_FRAMEWORKS")
    else [f for f in ("torch", "tf", "keras") if get_variant(f).available()]
)
ARCHITECTURES = list(zoo.REGISTRY)
BATCH = 8
LOGIT_RTOL = 1e-5
GRAD_RTOL = 1e-4
STATE_RTOL = 1e-5
STEP_RTOL = 1e-5
MOMENTUM = Recipe(optimizer="momentum", lr=0.1, weight_decay=5e-4, batch_size=BATCH, steps=1)

_adapters: dict[str, Any] = {}


@pytest.fixture(params=FRAMEWORKS)
def adapter(request: pytest.FixtureRequest) -> Any:
    name = request.param
    if name not in _adapters:
        a = load_adapter(get_variant(name))
        a.configure(Settings(threads=2, interop_threads=1))
        _adapters[name] = a
    return _adapters[name]


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-12))


def case(name: str) -> tuple[ModelSpec, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    spec = zoo.get(name).tiny
    rng = np.random.default_rng(11)
    x = rng.normal(size=(BATCH, *spec.input_shape)).astype(np.float32)
    if "vocab_size" in spec.params:  # token ids; 0 is padding where a model masks it: avoided
        x = rng.integers(1, spec.params["vocab_size"], size=x.shape).astype(np.int32)
    lm = spec.params.get("task") == "lm"  # a language model's label: the next token per step
    y = rng.integers(spec.num_classes, size=(BATCH, *spec.input_shape) if lm else BATCH)
    w = init_weights(spec, seed=5)
    if zoo.get(name).init == "normal":  # biases 0, LayerNorm 1/0: perturbed, so a swapped or
        for key, value in w.items():  # misplaced one cannot pass unseen
            if np.all(value == value.flat[0]):
                w[key] = (value + rng.normal(0, 0.1, value.shape)).astype(np.float32)
    return spec, w, x, y


def has_backward(spec: ModelSpec) -> bool:
    """The reference has a backward for every layer kind but the GRU (central differences)."""
    return not any(isinstance(layer, kinds.GRU) for layer in architectures.layers(spec))


# -- the registry -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_declaration_is_complete(name: str) -> None:
    arch = zoo.get(name)
    for fw in ("torch", "tf", "keras"):
        assert importlib.util.find_spec(f"models.{fw}.{name}") is not None, (fw, name)
    assert arch.variants and arch.description
    for dataset in arch.variants:
        assert dataset in DATASET_CLASSES
        spec = model_spec(name, dataset)
        assert spec.num_classes == DATASET_CLASSES[dataset]
        assert architectures.param_count(spec) > 0 and flops.forward_flops(spec) > 0
    # The tiny configuration exercises every layer kind the full model has, for its task (lstm's
    # classifier layouts, besides its tiny LM, are tested in test_lstm.py).
    task = arch.tiny.params.get("task")
    same_task = [d for d, v in arch.variants.items() if v.params.get("task") == task]
    full = {type(layer) for d in same_task for layer in arch.layers(model_spec(name, d))}
    assert {type(layer) for layer in arch.layers(arch.tiny)} == full


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_table_names_are_unique_and_inputs_exist(name: str) -> None:
    table = architectures.layers(zoo.get(name).tiny)
    seen = {kinds.INPUT}
    for layer in table:
        assert layer.name not in seen, layer.name
        assert set(layer.inputs) <= seen, layer
        seen.add(layer.name)


def test_he_init_statistics() -> None:
    """Conv kernels ~ N(0, 2 / fan_out); BatchNorm starts at gamma 1, beta 0, mean 0, var 1."""
    spec = model_spec("resnet20", "synthetic-cifar10")
    w = init_weights(spec, seed=0)
    k = w["stage3_block2_conv1.kernel"]  # 3x3x64x64: 36,864 draws
    assert abs(float(k.std()) - math.sqrt(2 / (64 * 9))) < 0.01 * math.sqrt(2 / (64 * 9))
    assert abs(float(k.mean())) < 1e-3
    assert (w["bn1.gamma"] == 1).all() and (w["bn1.moving_variance"] == 1).all()
    assert (w["bn1.beta"] == 0).all() and (w["bn1.moving_mean"] == 0).all()
    assert "conv1.bias" not in w  # no bias before BatchNorm
    assert set(architectures.trainable_names(spec)) == {
        n for n in w if not n.endswith((".moving_mean", ".moving_variance"))
    }


# -- each framework against the reference -------------------------------------------------------
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_weights_and_state_round_trip(adapter: Any, name: str) -> None:
    spec, w, _, _ = case(name)
    got = adapter.get_weights(adapter.build(spec, w, MOMENTUM, np.array([0.1])))
    assert list(got) == list(w) or set(got) == set(w)
    for key in w:
        np.testing.assert_array_equal(got[key], w[key], err_msg=key)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_logits_in_eval_and_train_mode(adapter: Any, name: str) -> None:
    spec, w, x, _ = case(name)
    # Start from non-trivial running statistics, so eval mode really uses them.
    rng = np.random.default_rng(3)
    for key in w:
        if key.endswith(".moving_mean"):
            w[key] = rng.normal(0, 0.1, w[key].shape).astype(np.float32)
        elif key.endswith(".moving_variance"):
            w[key] = rng.uniform(0.5, 2.0, w[key].shape).astype(np.float32)
    for training in (False, True):
        model = adapter.build(spec, w, MOMENTUM, np.array([0.1]))
        got = adapter.logits(model, x, training=training)
        ref = Reference(spec, w).forward(x, training)
        assert got.shape == ref.shape and got.shape[-1] == spec.num_classes
        assert rel_err(got, ref) <= LOGIT_RTOL, (training, rel_err(got, ref))


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_gradients_and_running_statistics(adapter: Any, name: str) -> None:
    spec, w, x, y = case(name)
    if not has_backward(spec):
        pytest.skip("GRU gradients: central differences in test_adapters_vs_numpy.py")
    ref_loss, ref_grads, ref_state = reference_loss_and_gradients(spec, w, x, y)
    model = adapter.build(spec, w, MOMENTUM, np.array([0.1]))
    loss, grads = adapter.loss_and_gradients(model, x, y)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    assert set(grads) == set(architectures.trainable_names(spec))
    # Attention's key bias has a zero gradient in exact arithmetic (each query's softmax is
    # shift-invariant): judged against the largest gradient, not its own (rounding-noise) scale.
    zero = {k for k in ref_grads if k.endswith(".key.bias")}
    worst = {k: rel_err(grads[k], ref_grads[k]) for k in ref_grads if k not in zero}
    assert max(worst.values()) <= GRAD_RTOL, max(worst.items(), key=lambda kv: kv[1])
    scale = max(float(np.abs(g).max()) for g in ref_grads.values())
    for k in zero:
        assert float(np.abs(ref_grads[k]).max()) <= 1e-12 * scale, k
        assert float(np.abs(grads[k]).max()) <= GRAD_RTOL * scale, k

    # One training step of SGD momentum 0.9 with coupled weight decay (the first step's buffer
    # is the gradient): trainable weights, and the running statistics of the step's forward.
    model = adapter.build(spec, w, MOMENTUM, np.array([0.1]))
    adapter.train_round(model, x[None], y[None])
    after = adapter.get_weights(model)
    for key, value in ref_state.items():
        assert not np.array_equal(after[key], w[key]), f"{key} was not updated"
        assert rel_err(after[key], value) <= STATE_RTOL, key
    for key, g in ref_grads.items():
        expected = w[key] - 0.1 * (g + 5e-4 * w[key].astype(np.float64))
        assert rel_err(after[key], expected) <= STEP_RTOL, key


# -- FLOPs against torch's counter --------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in ARCHITECTURES if n.startswith("resnet")] + ["cnn"])
def test_conv_and_matmul_flops_match_torch_counter(name: str) -> None:
    """torch.utils.flop_counter counts convolutions and matmuls (2 per multiply-add, no bias
    adds) and nothing for BatchNorm or pooling; :func:`bench.catalog.flops.matmul_flops` is that
    part."""
    pytest.importorskip("torch")
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from models.torch.adapter import architecture_builder

    spec, w, x, _ = case(name)
    module = architecture_builder(name)(spec, w).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(torch.from_numpy(x))
    assert counter.get_total_flops() == BATCH * flops.matmul_flops(spec)
    assert flops.forward_flops(spec) > flops.matmul_flops(spec)  # BN, pooling, adds: ours


def test_param_count_matches_torch() -> None:
    """The trainable parameters of the full-size ResNets, as torch counts them."""
    pytest.importorskip("torch")
    from models.torch.adapter import architecture_builder

    for name, dataset in [("resnet20", "synthetic-cifar10"), ("resnet50", "synthetic-imagenet")]:
        spec = model_spec(name, dataset)
        module = architecture_builder(name)(spec, init_weights(spec, 0))
        assert architectures.param_count(spec) == sum(p.numel() for p in module.parameters())
