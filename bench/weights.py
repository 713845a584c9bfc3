"""Initial weights generated once in NumPy, so every framework starts from the same point.

The distributions are PyTorch's defaults (the MNIST-1D paper trained with them), drawn from one
seeded generator in the fixed order of :func:`bench.architectures.weight_shapes`:

* dense and conv: kernel and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in features
  (dense) or in_channels x kernel size (conv) — torch's kaiming_uniform(a=sqrt(5)).
* GRU: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)).
"""

from __future__ import annotations

import math

import numpy as np

from bench.architectures import GRU, Conv, Dense, layers, weight_shapes
from bench.specs import ModelSpec


def _fan_in_bounds(spec: ModelSpec) -> dict[str, float]:
    bounds: dict[str, float] = {}
    for layer in layers(spec):
        if isinstance(layer, Dense):
            b = 1.0 / math.sqrt(layer.in_features)
            bounds[f"{layer.name}.kernel"] = bounds[f"{layer.name}.bias"] = b
        elif isinstance(layer, Conv):
            b = 1.0 / math.sqrt(layer.in_channels * math.prod(layer.kernel))
            bounds[f"{layer.name}.kernel"] = bounds[f"{layer.name}.bias"] = b
        elif isinstance(layer, GRU):
            b = 1.0 / math.sqrt(layer.hidden)
            for name in weight_shapes(spec):
                if name.startswith(f"{layer.name}."):
                    bounds[name] = b
    return bounds


def init_weights(spec: ModelSpec, seed: int) -> dict[str, np.ndarray]:
    """Canonical float32 initial weights for ``spec``; the same ``seed`` gives the same arrays."""
    rng = np.random.default_rng(seed)
    bounds = _fan_in_bounds(spec)
    return {
        name: rng.uniform(-bounds[name], bounds[name], size=shape).astype(np.float32)
        for name, shape in weight_shapes(spec).items()
    }
