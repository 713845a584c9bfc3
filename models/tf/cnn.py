"""Convolutions (symmetric padding, stride), relu after each, flatten (channels-last), dense."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bench.zoo.specs import ModelSpec
from models.tf.layers import CanonicalModule, flatten


class CNN(CanonicalModule):
    def __init__(self, spec: ModelSpec, weights: dict[str, np.ndarray]) -> None:
        super().__init__(weights, name="cnn")
        self.strides = [int(s) for s in spec.params["strides"]]
        self.padding = int(spec.params["padding"])

    def __call__(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        for i, stride in enumerate(self.strides, start=1):
            x = tf.nn.relu(self.conv(f"conv{i}", x, stride, self.padding))
        return self.dense("linear", flatten(x))


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> CNN:
    return CNN(spec, weights)
