"""The registered architectures as framework-neutral layer tables (declared in bench/zoo/).

One table per model says which layers hold weights, their shapes and how the activations flow (the
layer kinds: :mod:`bench.zoo.layers`). It is the single source for the canonical weights
(:mod:`bench.catalog.weights`), the parameter count and the FLOP count (:mod:`bench.catalog.flops`);
each framework's model file builds the same layers under the same names.

Canonical weight layout (what :func:`bench.catalog.weights.init_weights` returns, TF/Keras-like):

* dense ``<layer>.kernel`` is (in, out), ``<layer>.bias`` is (out,). When a dense layer follows a
  conv stack its ``in`` rows are in channels-last flatten order (position-major, channel-minor);
  torch flattens (N, C, L) channel-major, so its adapter permutes those rows.
* conv ``<layer>.kernel`` is (k, c_in, c_out) in 1-D and (kh, kw, c_in, c_out) in 2-D (TF's
  HWIO); torch wants (c_out, c_in, k...). Padding is symmetric, as in torch; TF/Keras pad
  explicitly and convolve "valid", because TF's "same" with stride 2 pads asymmetrically.
  ``<layer>.bias`` only where the conv has one (none before BatchNorm).
* BatchNorm ``<layer>.gamma``, ``<layer>.beta`` (trainable) and ``<layer>.moving_mean``,
  ``<layer>.moving_variance`` (state), each (channels,).
* GRU, per direction ``gru.forward.*`` and ``gru.backward.*``: ``kernel`` (in, 3H),
  ``recurrent_kernel`` (H, 3H) and ``bias`` (2, 3H) (row 0 input bias, row 1 recurrent bias),
  gates in Keras order (z, r, n), with the reset gate applied after the recurrent matmul
  (Keras ``reset_after=True``, the torch formula). Torch's order is (r, z, n) with weights
  (3H, in): its adapter reorders and transposes.
* LSTM (:class:`bench.zoo.layers.LSTM`): ``kernel`` (in, 4H), ``recurrent_kernel`` (H, 4H), one
  ``bias`` (4H), gates (i, f, g, o); ``<layer>.*`` unidirectional, ``<layer>.forward.*`` and
  ``<layer>.backward.*`` bidirectional. torch transposes; its second bias stays zero and frozen.
"""

from __future__ import annotations

import math

from bench import zoo
from bench.zoo.layers import (
    GRU,
    LSTM,
    Add,
    BatchNorm,
    Conv,
    Dense,
    GlobalAvgPool,
    Layer,
    MaxPool,
    ReLU,
    ShortcutA,
    conv_output_size,
    is_state,
)
from bench.zoo.specs import ModelSpec

#: Every registered model, in the registry's order.
MODEL_NAMES = tuple(zoo.REGISTRY)


def layers(spec: ModelSpec) -> list[Layer]:
    """The layer table of ``spec`` in forward order."""
    return zoo.get(spec.name).layers(spec)


def weight_shapes(spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    """Canonical name → canonical shape of every weight and state tensor, in a fixed order (the
    order weights are drawn in)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in layers(spec):
        if isinstance(layer, Dense):
            shapes[f"{layer.name}.kernel"] = (layer.in_features, layer.out_features)
            if layer.bias:
                shapes[f"{layer.name}.bias"] = (layer.out_features,)
        elif isinstance(layer, Conv):
            shapes[f"{layer.name}.kernel"] = (*layer.kernel, layer.in_channels, layer.out_channels)
            if layer.bias:
                shapes[f"{layer.name}.bias"] = (layer.out_channels,)
        elif isinstance(layer, BatchNorm):
            for suffix in ("gamma", "beta", "moving_mean", "moving_variance"):
                shapes[f"{layer.name}.{suffix}"] = (layer.channels,)
        elif isinstance(layer, GRU):
            dirs = ("forward", "backward") if layer.bidirectional else ("forward",)
            h3 = 3 * layer.hidden
            for d in dirs:
                shapes[f"{layer.name}.{d}.kernel"] = (layer.input_size, h3)
                shapes[f"{layer.name}.{d}.recurrent_kernel"] = (layer.hidden, h3)
                shapes[f"{layer.name}.{d}.bias"] = (2, h3)
        elif hasattr(layer, "weight_shapes"):  # self-describing kinds (sequence layers)
            shapes.update(layer.weight_shapes())
    return shapes


def trainable_names(spec: ModelSpec) -> list[str]:
    """Canonical names an optimizer updates (everything but BatchNorm running statistics)."""
    return [name for name in weight_shapes(spec) if not is_state(name)]


def param_count(spec: ModelSpec) -> int:
    """Trainable parameters (running statistics are state, not parameters: torchvision's count)."""
    shapes = weight_shapes(spec)
    return sum(math.prod(shapes[name]) for name in trainable_names(spec))


__all__ = [
    "GRU",
    "LSTM",
    "MODEL_NAMES",
    "Add",
    "BatchNorm",
    "Conv",
    "Dense",
    "GlobalAvgPool",
    "Layer",
    "MaxPool",
    "ReLU",
    "ShortcutA",
    "conv_output_size",
    "is_state",
    "layers",
    "param_count",
    "trainable_names",
    "weight_shapes",
]
