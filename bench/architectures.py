"""The registered architectures as framework-neutral layer tables.

One table per model says which layers hold weights, their shapes and how the activations flow.
It is the single source for the canonical weights (:mod:`bench.weights`), the parameter count and
the FLOP count (:mod:`bench.flops`); each framework's model file builds the same layers under the
same names.

Canonical weight layout (what :func:`bench.weights.init_weights` returns, TF/Keras-like):

* dense ``<layer>.kernel`` is (in, out), ``<layer>.bias`` is (out,). When a dense layer follows a
  conv stack its ``in`` rows are in channels-last flatten order (position-major, channel-minor);
  torch flattens (N, C, L) channel-major, so its adapter permutes those rows.
* conv ``<layer>.kernel`` is (k, c_in, c_out) in 1-D and (kh, kw, c_in, c_out) in 2-D (TF's
  HWIO); torch wants (c_out, c_in, k...). Padding is symmetric, as in torch; TF/Keras pad
  explicitly and convolve "valid", because TF's "same" with stride 2 pads asymmetrically.
* GRU, per direction ``gru.forward.*`` and ``gru.backward.*``: ``kernel`` (in, 3H),
  ``recurrent_kernel`` (H, 3H) and ``bias`` (2, 3H) (row 0 input bias, row 1 recurrent bias),
  gates in Keras order (z, r, n), with the reset gate applied after the recurrent matmul
  (Keras ``reset_after=True``, the torch formula). Torch's order is (r, z, n) with weights
  (3H, in): its adapter reorders and transposes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.specs import ModelSpec


@dataclass(frozen=True)
class Dense:
    name: str
    in_features: int
    out_features: int
    #: For a dense layer after a conv stack: the (spatial..., channels) shape it flattens.
    flattened_from: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Conv:
    name: str
    kernel: tuple[int, ...]  # (k,) or (kh, kw)
    in_channels: int
    out_channels: int
    stride: int
    padding: int
    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]


@dataclass(frozen=True)
class GRU:
    name: str
    input_size: int
    hidden: int
    steps: int
    bidirectional: bool


Layer = Dense | Conv | GRU


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """torch's formula (floor), which explicit symmetric padding + 'valid' reproduces in TF."""
    return (size + 2 * padding - kernel) // stride + 1


def layers(spec: ModelSpec) -> list[Layer]:
    """The weight-bearing layers of ``spec`` in forward order."""
    builder = _BUILDERS.get(spec.name)
    if builder is None:
        raise ValueError(f"unknown model {spec.name!r}; choose from {sorted(_BUILDERS)}")
    return builder(spec)


def _logreg(spec: ModelSpec) -> list[Layer]:
    return [Dense("linear", math.prod(spec.input_shape), spec.num_classes)]


def _mlp(spec: ModelSpec) -> list[Layer]:
    hidden = int(spec.params.get("hidden", 100))
    return [
        Dense("linear1", math.prod(spec.input_shape), hidden),
        Dense("linear2", hidden, hidden),  # used residually: h + relu(W2 h)
        Dense("linear3", hidden, spec.num_classes),
    ]


def _cnn(spec: ModelSpec) -> list[Layer]:
    channels = list(spec.params["channels"])
    kernels = list(spec.params["kernels"])
    strides = list(spec.params["strides"])
    padding = int(spec.params["padding"])
    spatial = tuple(spec.input_shape[:-1])
    dims = len(spatial)
    in_ch = spec.input_shape[-1]
    out: list[Layer] = []
    for i, (ch, k, s) in enumerate(zip(channels, kernels, strides, strict=True), start=1):
        new_spatial = tuple(conv_output_size(n, k, s, padding) for n in spatial)
        out.append(Conv(f"conv{i}", (k,) * dims, in_ch, ch, s, padding, spatial, new_spatial))
        spatial, in_ch = new_spatial, ch
    flat = (*spatial, in_ch)
    out.append(Dense("linear", math.prod(flat), spec.num_classes, flattened_from=flat))
    return out


def _gru(spec: ModelSpec) -> list[Layer]:
    hidden = int(spec.params.get("hidden", 6))
    bidirectional = bool(spec.params.get("bidirectional", True))
    steps, features = spec.input_shape
    directions = 2 if bidirectional else 1
    return [
        GRU("gru", features, hidden, steps, bidirectional),
        Dense("linear", steps * hidden * directions, spec.num_classes),
    ]


_BUILDERS = {"logreg": _logreg, "mlp": _mlp, "cnn": _cnn, "gru": _gru}
MODEL_NAMES = tuple(_BUILDERS)


def weight_shapes(spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    """Canonical name → canonical shape, in a fixed order (the order weights are drawn in)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in layers(spec):
        if isinstance(layer, Dense):
            shapes[f"{layer.name}.kernel"] = (layer.in_features, layer.out_features)
            shapes[f"{layer.name}.bias"] = (layer.out_features,)
        elif isinstance(layer, Conv):
            shapes[f"{layer.name}.kernel"] = (*layer.kernel, layer.in_channels, layer.out_channels)
            shapes[f"{layer.name}.bias"] = (layer.out_channels,)
        else:
            dirs = ("forward", "backward") if layer.bidirectional else ("forward",)
            h3 = 3 * layer.hidden
            for d in dirs:
                shapes[f"{layer.name}.{d}.kernel"] = (layer.input_size, h3)
                shapes[f"{layer.name}.{d}.recurrent_kernel"] = (layer.hidden, h3)
                shapes[f"{layer.name}.{d}.bias"] = (2, h3)
    return shapes


def param_count(spec: ModelSpec) -> int:
    return sum(math.prod(s) for s in weight_shapes(spec).values())
