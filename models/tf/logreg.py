"""Logistic regression: one dense layer on the flattened input."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bench.zoo.specs import ModelSpec
from models.tf.layers import CanonicalModule, flatten


class LogReg(CanonicalModule):
    def __call__(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.dense("linear", flatten(x))


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> LogReg:
    return LogReg(weights, name="logreg")
