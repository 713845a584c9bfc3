"""Bidirectional GRU over all time steps, outputs flattened into a Dense "linear".

``reset_after=True`` with sigmoid/tanh is the torch formula; Bidirectional re-aligns the backward
outputs to the original time positions and concatenates [forward, backward] per step, which
flattens (position-major) into the canonical 480 features.
"""

from __future__ import annotations

import keras
import numpy as np

from bench.zoo.specs import ModelSpec
from models.keras import layout


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> keras.Model:
    hidden = int(spec.params.get("hidden", 6))
    rnn = keras.layers.GRU(
        hidden,
        activation="tanh",
        recurrent_activation="sigmoid",
        return_sequences=True,
        reset_after=True,
        name="gru",
    )
    if spec.params.get("bidirectional", True):
        rnn = keras.layers.Bidirectional(rnn, merge_mode="concat", name="gru")
    model = keras.Sequential(
        [
            keras.Input(spec.input_shape),
            rnn,
            keras.layers.Flatten(),
            keras.layers.Dense(spec.num_classes, name="linear"),
        ],
        name="gru",
    )
    return layout.load(model, weights)
