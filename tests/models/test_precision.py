"""Mixed precision (bf16, fp16) and channels-last against the float64 NumPy reference.

Tolerances come from :mod:`bench.zoo.precision` (docs/precision.md derives them): logits within
4·√(3·depth)·u relative to max |logit|, one SGD step's update within the same rule at three
times the depth, u the compute dtype's unit roundoff (bf16 2^-8, fp16 2^-11), depth the layers
with weights. The one-step test runs on the dense models only: in a conv stack at batch 8 a few
ReLU pre-activations sit within rounding of zero and flip, which changes the gradient by a
discrete amount no rounding bound covers (measured identical in torch, tf and keras, 0.16 of
the tiny cnn's largest per-tensor update in fp16), so there the logits are the test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from bench import zoo
from bench.catalog import architectures
from bench.catalog.frameworks import get_variant
from bench.catalog.weights import init_weights
from bench.run.adapter import load_adapter
from bench.zoo import precision as names
from bench.zoo.specs import Cell, Recipe, Settings
from tests.models.reference import Reference, reference_loss_and_gradients

#: BENCH_TEST_FRAMEWORKS=keras:jax (with KERAS_BACKEND=jax) runs this module for another Keras
#: backend in its own process: tests/models/test_keras_backends.py does that.
FRAMEWORKS = (
    os.environ.get("BENCH_TEST_FRAMEWORKS", "").split(",")
    if os.environ.get("BENCH_TEST_FRAMEWORKS")
    else [f for f in ("torch", "tf", "keras") if get_variant(f).available()]
)
PRECISIONS = ("bf16", "fp16")
LOGIT_MODELS = ("logreg", "mlp", "cnn", "resnet20", "gru", "lstm", "transformer", "gpt")
STEP_MODELS = ("logreg", "mlp")
BATCH = 8
SGD = Recipe(optimizer="sgd", lr=0.1, batch_size=BATCH, steps=1)

_adapters: dict[tuple[str, str], Any] = {}


@pytest.fixture(autouse=True, scope="module")
def _float32_policy_after() -> Iterator[None]:
    """Keras's dtype policy is process-wide: leave it float32 for the other test modules."""
    yield
    if any(f.startswith("keras") for f in FRAMEWORKS):
        import keras

        keras.mixed_precision.set_dtype_policy("float32")


def adapter(framework: str, precision: str) -> Any:
    if (framework, precision) not in _adapters:
        a = load_adapter(get_variant(framework))
        a.configure(Settings(threads=2, interop_threads=1, precision=precision))
        _adapters[framework, precision] = a
    return _adapters[framework, precision]


def case(name: str) -> tuple[Any, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Tiny spec, weights and a batch: token ids (padding 0 included) where the model embeds
    tokens, next-token labels at every position for a language model."""
    spec = zoo.get(name).tiny
    rng = np.random.default_rng(11)
    if "vocab_size" in spec.params:
        x = rng.integers(1, spec.params["vocab_size"], size=(BATCH, *spec.input_shape))
        if spec.params.get("padding"):
            x[: BATCH // 2, -2:] = 0  # half the batch padded
    else:
        x = rng.normal(size=(BATCH, *spec.input_shape)).astype(np.float32)
    lm = spec.params.get("task") == "lm"
    y = rng.integers(spec.num_classes, size=(BATCH, *spec.input_shape) if lm else BATCH)
    return spec, init_weights(spec, seed=5), x, y


def lstm_refused(precision: str) -> bool:
    """torch's nn.LSTM under fp16 autocast has no oneDNN primitive on CPUs without AVX512-FP16
    (this project's CI machine): there the adapter refuses the cell instead."""
    from models.torch.precision import recurrent_refusal

    return recurrent_refusal("cpu", precision) is not None


def depth(spec: Any) -> int:
    return names.rounding_depth([type(layer).__name__ for layer in architectures.layers(spec)])


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-12))


# -- names and tolerances --------------------------------------------------------------------
def test_legacy_and_canonical_names() -> None:
    assert Settings(precision="float32").precision == "fp32"
    assert Settings.from_dict(Settings(precision="bf16").to_dict()).precision == "bf16"
    assert names.canonical("BF16") == "bf16" and names.canonical("float16") == "fp16"
    with pytest.raises(ValueError, match="choose from fp32, tf32, bf16, fp16"):
        names.canonical("int8")
    assert names.refusal("tf32", "cpu") and names.refusal("tf32", "cuda") is None
    assert names.refusal("fp16", "cpu") is None  # torch, tf and keras all run it on a CPU


def test_cell_key_separates_precisions_and_keeps_fp32_keys() -> None:
    fp32 = Cell("torch", "mlp", "mnist1d", "quick", Recipe())
    bf16 = Cell("torch", "mlp", "mnist1d", "quick", Recipe(), precision="bf16")
    assert fp32.key == "torch/mlp/mnist1d" and bf16.key == "torch/mlp/mnist1d@bf16"
    assert fp32.group == bf16.group and fp32.worker_key != bf16.worker_key
    assert Cell.from_dict(bf16.to_dict()) == bf16
    old = {k: v for k, v in fp32.to_dict().items() if k != "precision"}
    assert Cell.from_dict(old) == fp32


def test_tolerance_follows_unit_roundoff_and_depth() -> None:
    assert names.logits_tolerance("fp16", 3) == pytest.approx(
        names.logits_tolerance("bf16", 3) / 8
    )  # 2^-11 against 2^-8
    assert names.logits_tolerance("bf16", 12) == pytest.approx(
        2 * names.logits_tolerance("bf16", 3)
    )  # errors of independent stages add in quadrature
    assert names.logits_tolerance("bf16", 1) > names.logits_tolerance("fp32", 1)


def test_fp16_cost_note_depends_on_the_cpu() -> None:
    assert names.cost_note("fp16", "cpu", {"avx2", "f16c"}) is not None
    assert names.cost_note("fp16", "cpu", {"avx512_fp16"}) is None
    assert names.cost_note("bf16", "cpu", {"avx512_bf16"}) is None
    assert names.cost_note("fp32", "cpu", set()) is None


# -- each framework against the reference ---------------------------------------------------
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("name", LOGIT_MODELS)
def test_logits_within_derived_tolerance(framework: str, precision: str, name: str) -> None:
    spec, w, x, _ = case(name)
    a = adapter(framework, precision)
    if framework == "torch" and name == "lstm" and lstm_refused(precision):
        with pytest.raises(ValueError, match=r"nn\.LSTM under"):  # a line at build, no traceback
            a.build(spec, w, SGD, np.array([0.1]))
        return
    got = a.logits(a.build(spec, w, SGD, np.array([0.1])), x)
    ref = Reference(spec, w).forward(x, False)
    err, tol = rel_err(got, ref), names.logits_tolerance(precision, depth(spec))
    assert got.dtype == np.float32 and got.shape == ref.shape
    assert err <= tol, (err, tol)
    # ... and the compute really was reduced: float32 would be ~1e-7 off
    assert err > names.logits_tolerance("fp32", 1), err


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("name", STEP_MODELS)
def test_one_step_within_derived_tolerance(framework: str, precision: str, name: str) -> None:
    spec, w, x, y = case(name)
    _, grads, _ = reference_loss_and_gradients(spec, w, x, y)
    a = adapter(framework, precision)
    model = a.build(spec, w, SGD, np.array([0.1]))
    a.train_round(model, x[None], y[None])
    after = a.get_weights(model)
    assert all(after[k].dtype == np.float32 for k in grads)  # float32 master weights
    err = max(np.abs(after[k] - w[k] + 0.1 * grads[k]).max() for k in grads)
    scale = max(np.abs(0.1 * grads[k]).max() for k in grads)
    assert err / scale <= names.step_tolerance(precision, depth(spec)), err / scale


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_manifest_records_mixed_precision_and_op_dtypes(framework: str) -> None:
    a = load_adapter(get_variant(framework))
    m = a.configure(Settings(threads=2, interop_threads=1, precision="bf16"))
    assert m["precision"] == "bf16" and m["mixed_precision"] != "none"
    ops = m["op_dtypes"]
    assert ops["dense"].startswith("bfloat16") and ops["conv"].startswith("bfloat16")
    assert ops["weights"] == "float32" and ops["gradients"] == "float32"
    assert ops["loss"] == "float32"
    if framework.startswith("keras"):
        assert "computed in float32" in ops["batchnorm"]  # Keras upcasts its norms
    if framework == "torch":
        assert ops["batchnorm"] == "bfloat16" and ops["softmax"] == "bfloat16"  # autocast
    if framework == "tf":  # the tf route's norms compute in float32, its attention does not
        assert "computed in float32" in ops["layernorm"]
        assert ops["attention softmax"] == "bfloat16"
    if framework.startswith("keras"):
        import keras

        keras.mixed_precision.set_dtype_policy("float32")


# -- channels-last ---------------------------------------------------------------------------
def test_torch_channels_last_same_logits_and_refused_without_conv() -> None:
    pytest.importorskip("torch")
    import torch

    a = load_adapter(get_variant("torch"))
    m = a.configure(Settings(threads=2, interop_threads=1, memory_format="channels-last"))
    assert m["memory_format"].startswith("torch.channels_last")
    spec, w, x, _ = case("resnet20")
    model = a.build(spec, w, SGD, np.array([0.1]))
    conv = next(p for p in model.module.parameters() if p.dim() == 4)
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert not conv.is_contiguous()  # really NHWC in memory, not a relabelled NCHW
    assert rel_err(a.logits(model, x), Reference(spec, w).forward(x, False)) <= 1e-5
    with pytest.raises(ValueError, match="channels-last: mlp has no 2-D conv"):
        a.build(*case("mlp")[:2], SGD, np.array([0.1]))
