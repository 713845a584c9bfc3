"""Logistic regression: flatten → Dense "linear"."""

from __future__ import annotations

import keras
import numpy as np

from bench.zoo.specs import ModelSpec
from models.keras import layout


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input(spec.input_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(spec.num_classes, name="linear"),
        ],
        name="logreg",
    )
    return layout.load(model, weights)
