"""Conv stack (ReLU after each conv, symmetric padding) → flatten → linear; 1-D or 2-D."""

from __future__ import annotations

import math

from bench.zoo.base import Architecture, Variant
from bench.zoo.layers import Dense, Layer, ReLU, conv
from bench.zoo.specs import ModelSpec


def layers(spec: ModelSpec) -> list[Layer]:
    p = spec.params
    spatial = tuple(spec.input_shape[:-1])
    in_ch = spec.input_shape[-1]
    out: list[Layer] = []
    for i, (ch, k, s) in enumerate(zip(p["channels"], p["kernels"], p["strides"], strict=True), 1):
        node = conv(f"conv{i}", int(k), in_ch, int(ch), int(s), int(p["padding"]), spatial)
        out += [node, ReLU(f"relu{i}")]
        spatial, in_ch = node.out_spatial, int(ch)
    flat = (*spatial, in_ch)
    out.append(Dense("linear", math.prod(flat), spec.num_classes, flattened_from=flat))
    return out


_MNIST1D = {"channels": [25, 25, 25], "kernels": [5, 3, 3], "strides": [2, 2, 2], "padding": 1}
_DIGITS = {"channels": [16, 32], "kernels": [3, 3], "strides": [1, 2], "padding": 1}

ARCHITECTURE = Architecture(
    name="cnn",
    description="three convolutions (stride 2, padding 1) and a linear layer; 1-D on MNIST-1D, "
    "2-D on digits",
    layers=layers,
    variants={
        "mnist1d": Variant(
            (40, 1),
            _MNIST1D,
            suites=("paper", "quick"),
            accuracy_target=0.80,
            paper_accuracy=0.94,
            seed_spread={"quick": 0.0416},
        ),
        "digits": Variant(
            (8, 8, 1),
            _DIGITS,
            suites=("standard",),
            accuracy_target=0.95,
            seed_spread={"quick": 0.0023},
        ),
    },
    tiny=ModelSpec("cnn", (8, 8, 1), 10, _DIGITS),
    order=30,
)
