"""FLOPs per sample counted from the model spec, so achieved FLOP/s can be set against a peak.

Counted: multiply-adds of dense, conv and recurrent matmuls as 2 FLOPs each, plus bias adds and
the GRU's gate arithmetic; activations and the loss are left out (they are a few percent for these
models at most). Training is counted as 3x forward (forward, plus backward for activations and
weights), the convention of Kaplan et al. and nanoGPT's MFU.
"""

from __future__ import annotations

import math

from bench.architectures import GRU, Conv, Dense, layers
from bench.specs import ModelSpec

TRAIN_MULTIPLIER = 3


def forward_flops(spec: ModelSpec) -> int:
    total = 0
    for layer in layers(spec):
        if isinstance(layer, Dense):
            total += 2 * layer.in_features * layer.out_features + layer.out_features
        elif isinstance(layer, Conv):
            positions = math.prod(layer.out_spatial)
            per_position = 2 * math.prod(layer.kernel) * layer.in_channels * layer.out_channels
            total += positions * (per_position + layer.out_channels)
        elif isinstance(layer, GRU):
            h = layer.hidden
            matmuls = 2 * 3 * h * (layer.input_size + h)
            gates = 3 * 2 * h + 3 * h + 4 * h  # bias adds, reset product, blend
            directions = 2 if layer.bidirectional else 1
            total += directions * layer.steps * (matmuls + gates)
    return total


def train_flops(spec: ModelSpec) -> int:
    return TRAIN_MULTIPLIER * forward_flops(spec)
