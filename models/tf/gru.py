"""Bidirectional GRU over every step; all steps' outputs [forward, backward] flattened → dense."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bench.zoo.specs import ModelSpec
from models.tf.layers import CanonicalModule, flatten


class BiGRU(CanonicalModule):
    def __init__(self, spec: ModelSpec, weights: dict[str, np.ndarray]) -> None:
        super().__init__(weights, name="gru")
        self.hidden = int(spec.params.get("hidden", 6))
        self.bidirectional = bool(spec.params.get("bidirectional", True))

    def __call__(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        out = self.gru_direction("gru.forward", x, self.hidden, reverse=False)
        if self.bidirectional:
            back = self.gru_direction("gru.backward", x, self.hidden, reverse=True)
            out = tf.concat([out, back], axis=-1)  # (N, T, 2H): per step [forward, backward]
        return self.dense("linear", flatten(out))


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> BiGRU:
    return BiGRU(spec, weights)
