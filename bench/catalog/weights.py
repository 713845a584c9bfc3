"""Initial weights generated once in NumPy, so every framework starts from the same point.

Drawn from one seeded generator in the fixed order of
:func:`bench.catalog.architectures.weight_shapes` (only drawn tensors consume random numbers). The
scheme is the architecture's ``init``:

``"torch"`` — PyTorch's defaults (the MNIST-1D paper trained with them):

* dense and conv: kernel and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in features
  (dense) or in_channels x kernel size (conv) — torch's kaiming_uniform(a=sqrt(5)).
* GRU and LSTM (:meth:`bench.zoo.layers.LSTM.draws`): every weight and bias
  ~ U(-1/sqrt(H), 1/sqrt(H)). The LSTM's one bias is drawn like one of torch's two (their sum
  in torch is triangular on ±2/sqrt(H)); no forget-gate bias of 1 (Keras's
  ``unit_forget_bias``) — weights are always loaded, never a framework's init.

``"he"`` — torchvision's ResNet initialisation (He et al. 2015):

* conv kernel ~ N(0, 2 / fan_out), fan_out = out_channels x kernel size: kaiming_normal with
  ``mode="fan_out", nonlinearity="relu"``, as torchvision's ResNet (fan_out keeps the backward
  pass's gradient variance; fan_in would keep the forward's — they differ by c_in/c_out only at
  stage boundaries). Conv biases, where a conv has one, are zero.
* dense: PyTorch's default uniform above (torchvision leaves its ``fc`` at the default).

``"normal"`` — GPT-2's and BERT's: the sequence layer kinds of :mod:`bench.zoo.layers` declare
their own draws (kernels and embedding tables ~ N(0, 0.02), biases 0, LayerNorm gamma 1 and
beta 0, GPT-2's residual projections N(0, 0.02 / sqrt(2·layers))); a plain Dense head in such a
model keeps PyTorch's default uniform above. docs/sequence-models.md writes them out.

Everywhere, BatchNorm starts at gamma 1, beta 0, moving mean 0, moving variance 1 (every
framework's default).
"""

from __future__ import annotations

import math

import numpy as np

from bench import zoo
from bench.catalog.architectures import GRU, BatchNorm, Conv, Dense, layers, weight_shapes
from bench.zoo.specs import ModelSpec

INIT_SCHEMES = ("torch", "he", "normal")
_BN_START = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}


def _draws(spec: ModelSpec) -> dict[str, tuple[str, float]]:
    """Canonical name → (distribution, scale): ("uniform", bound), ("normal", std) or
    ("constant", value)."""
    scheme = zoo.get(spec.name).init
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"{spec.name}: unknown init {scheme!r}; choose from {INIT_SCHEMES}")
    out: dict[str, tuple[str, float]] = {}
    for layer in layers(spec):
        if isinstance(layer, Dense):
            b = 1.0 / math.sqrt(layer.in_features)
            out[f"{layer.name}.kernel"] = out[f"{layer.name}.bias"] = ("uniform", b)
        elif isinstance(layer, Conv):
            size = math.prod(layer.kernel)
            if scheme == "he":
                std = math.sqrt(2.0 / (layer.out_channels * size))
                out[f"{layer.name}.kernel"] = ("normal", std)
                out[f"{layer.name}.bias"] = ("constant", 0.0)
            else:
                b = 1.0 / math.sqrt(layer.in_channels * size)
                out[f"{layer.name}.kernel"] = out[f"{layer.name}.bias"] = ("uniform", b)
        elif isinstance(layer, BatchNorm):
            for suffix, value in _BN_START.items():
                out[f"{layer.name}.{suffix}"] = ("constant", value)
        elif isinstance(layer, GRU):
            b = 1.0 / math.sqrt(layer.hidden)
            for name in weight_shapes(spec):
                if name.startswith(f"{layer.name}."):
                    out[name] = ("uniform", b)
        elif hasattr(layer, "draws"):  # sequence kinds carry their own init (GPT-2/BERT's)
            out.update(layer.draws())
    return out


def init_weights(spec: ModelSpec, seed: int) -> dict[str, np.ndarray]:
    """Canonical float32 initial weights and state for ``spec``; the same ``seed`` gives the
    same arrays."""
    rng = np.random.default_rng(seed)
    draws = _draws(spec)
    out: dict[str, np.ndarray] = {}
    for name, shape in weight_shapes(spec).items():
        kind, scale = draws[name]
        if kind == "uniform":
            value = rng.uniform(-scale, scale, size=shape)
        elif kind == "normal":
            value = rng.normal(0.0, scale, size=shape)
        else:
            value = np.full(shape, scale)
        out[name] = value.astype(np.float32)
    return out
