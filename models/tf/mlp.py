"""The MNIST-1D paper's MLP: h = relu(W1 x); h = h + relu(W2 h); logits = W3 h."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bench.zoo.specs import ModelSpec
from models.tf.layers import CanonicalModule, flatten


class MLP(CanonicalModule):
    def __call__(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        h = tf.nn.relu(self.dense("linear1", flatten(x)))
        h = h + tf.nn.relu(self.dense("linear2", h))
        return self.dense("linear3", h)


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> MLP:
    return MLP(weights, name="mlp")
