"""MLP with the paper's residual block: h = relu(W1 x); h = h + relu(W2 h); logits = W3 h.

Functional API, because the residual add is not a Sequential stack.
"""

from __future__ import annotations

import keras
import numpy as np

from bench.zoo.specs import ModelSpec
from models.keras import layout


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> keras.Model:
    hidden = int(spec.params.get("hidden", 100))
    x = keras.Input(spec.input_shape)
    h = keras.layers.Dense(hidden, activation="relu", name="linear1")(keras.layers.Flatten()(x))
    h = keras.layers.Add()([h, keras.layers.Dense(hidden, activation="relu", name="linear2")(h)])
    logits = keras.layers.Dense(spec.num_classes, name="linear3")(h)
    return layout.load(keras.Model(x, logits, name="mlp"), weights)
