"""The LSTM layer kind in the configurations test_zoo.py's one ``tiny`` does not cover.

test_zoo.py checks the registered tiny ``lstm`` in every framework; here every classifier layout —
bidirectional with final states (the MNIST-1D model's), unidirectional (``<name>.kernel``, no
direction in the name) and mean pooling over every step — against the same float64 reference
(logits ≤ 1e-5, gradients ≤ 1e-4 relative), plus the reference's own backward against central
differences, and torch's second bias staying zero and frozen through a training step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bench.catalog import architectures
from bench.catalog.frameworks import get_variant
from bench.catalog.weights import init_weights
from bench.run.adapter import load_adapter
from bench.zoo.specs import ModelSpec, Recipe, Settings
from tests.models.reference import Reference, reference_loss_and_gradients

FRAMEWORKS = [f for f in ("torch", "tf", "keras") if get_variant(f).available()]
SGD = Recipe(optimizer="sgd", lr=0.5, batch_size=6, steps=1)
SPECS = {
    "bidirectional-last": ModelSpec(
        "lstm", (7, 3), 5, {"hidden": 4, "bidirectional": True, "pooling": "last"}
    ),
    "unidirectional-last": ModelSpec("lstm", (5, 2), 3, {"hidden": 3, "bidirectional": False}),
    "bidirectional-mean": ModelSpec(
        "lstm", (6, 2), 4, {"hidden": 3, "bidirectional": True, "pooling": "mean"}
    ),
}
_adapters: dict[str, Any] = {}


@pytest.fixture(params=FRAMEWORKS)
def adapter(request: pytest.FixtureRequest) -> Any:
    if request.param not in _adapters:
        a = load_adapter(get_variant(request.param))
        a.configure(Settings(threads=2, interop_threads=1))
        _adapters[request.param] = a
    return _adapters[request.param]


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-12))


def case(key: str) -> tuple[ModelSpec, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    spec = SPECS[key]
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, *spec.input_shape)).astype(np.float32)
    y = rng.integers(spec.num_classes, size=6)
    return spec, init_weights(spec, seed=1), x, y


def test_weight_names_follow_the_contract() -> None:
    uni = architectures.weight_shapes(SPECS["unidirectional-last"])
    assert list(uni)[:3] == ["lstm.kernel", "lstm.recurrent_kernel", "lstm.bias"]
    assert uni["lstm.kernel"] == (2, 12) and uni["lstm.bias"] == (12,)
    bi = architectures.weight_shapes(SPECS["bidirectional-mean"])
    assert {"lstm.forward.bias", "lstm.backward.recurrent_kernel"} <= set(bi)
    assert bi["lstm.backward.recurrent_kernel"] == (3, 12)


@pytest.mark.parametrize("key", SPECS)
def test_reference_backward_matches_central_differences(key: str) -> None:
    spec, w, x, y = case(key)
    w64 = {k: v.astype(np.float64) for k, v in w.items()}
    _, grads, _ = reference_loss_and_gradients(spec, w64, x, y)
    rng = np.random.default_rng(0)
    for name in ("lstm.kernel", "lstm.forward.recurrent_kernel", "lstm.backward.bias"):
        if name not in w64:
            continue
        for _ in range(4):
            idx = tuple(rng.integers(n) for n in w64[name].shape)
            plus, minus = dict(w64), dict(w64)
            plus[name], minus[name] = w64[name].copy(), w64[name].copy()
            plus[name][idx] += 1e-6
            minus[name][idx] -= 1e-6
            numeric = (
                reference_loss_and_gradients(spec, plus, x, y)[0]
                - reference_loss_and_gradients(spec, minus, x, y)[0]
            ) / 2e-6
            assert grads[name][idx] == pytest.approx(numeric, rel=1e-5, abs=1e-9), (name, idx)


@pytest.mark.parametrize("key", SPECS)
def test_framework_matches_reference(adapter: Any, key: str) -> None:
    spec, w, x, y = case(key)
    model = adapter.build(spec, w, SGD, np.array([0.5]))
    assert rel_err(adapter.logits(model, x), Reference(spec, w).forward(x)) <= 1e-5
    ref_loss, ref_grads, _ = reference_loss_and_gradients(spec, w, x, y)
    loss, grads = adapter.loss_and_gradients(model, x, y)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    assert set(grads) == set(ref_grads)
    for name, g in ref_grads.items():
        assert rel_err(grads[name], g) <= 1e-4, name
    # One plain SGD step moves the one canonical bias by lr x its gradient, in every framework
    # (torch's frozen second bias would otherwise double it).
    model = adapter.build(spec, w, SGD, np.array([0.5]))
    adapter.train_round(model, x[None], y[None])
    after = adapter.get_weights(model)
    for name in (n for n in ref_grads if n.endswith(".bias") and n.startswith("lstm")):
        assert rel_err(after[name] - w[name], -0.5 * ref_grads[name]) <= 1e-4, name


def test_torch_second_bias_is_zero_and_frozen() -> None:
    pytest.importorskip("torch")
    from models.torch.lstm import build

    spec, w, _, _ = case("bidirectional-mean")
    module = build(spec, w)
    hh = {n: p for n, p in module.lstm.named_parameters() if n.startswith("bias_hh")}
    assert set(hh) == {"bias_hh_l0", "bias_hh_l0_reverse"}
    for p in hh.values():
        assert not p.requires_grad and float(p.abs().max()) == 0.0


def test_language_model_adam_step_with_repeated_tokens(adapter: Any) -> None:
    """One Adam step of the tiny LSTM LM against NumPy Adam on the reference gradients. Tokens
    repeat in the batch, so the embedding's gradient has duplicate rows: they must be summed
    before Adam squares them (Keras on TF hands the optimizer an IndexedSlices)."""
    from bench import zoo
    from tests.models.reference import numpy_step

    spec = zoo.get("lstm").tiny
    rng = np.random.default_rng(4)
    x = rng.integers(0, 3, size=(4, *spec.input_shape)).astype(np.int32)  # 3 tokens of 7
    y = rng.integers(0, spec.num_classes, size=x.shape).astype(np.int32)
    w = init_weights(spec, seed=2)
    adam = Recipe(optimizer="adam", lr=0.01, batch_size=4, steps=1)
    _, grads, _ = reference_loss_and_gradients(spec, w, x, y)
    model = adapter.build(spec, w, adam, np.array([0.01]))
    adapter.train_round(model, x[None], y[None])
    after = adapter.get_weights(model)
    for name, g in grads.items():
        expected = numpy_step("adam", adam.optimizer_args, w[name].astype(np.float64), g, {}, 1,
                              0.01)  # fmt: skip
        assert rel_err(after[name], expected) <= 1e-5, name
