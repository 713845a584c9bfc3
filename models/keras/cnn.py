"""Convolutions (relu after each) and a Dense "linear"; 1-D or 2-D from the input rank.

Padding is explicit and symmetric (ZeroPadding) before a "valid" conv: Keras's "same" with
stride 2 pads asymmetrically, unlike torch. Flatten is channels-last, the canonical order.
"""

from __future__ import annotations

import keras
import numpy as np

from bench.zoo.specs import ModelSpec
from models.keras import layout


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> keras.Model:
    dims = len(spec.input_shape) - 1
    pad = {1: keras.layers.ZeroPadding1D, 2: keras.layers.ZeroPadding2D}[dims]
    conv = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D}[dims]
    p = spec.params
    stack: list = [keras.Input(spec.input_shape)]
    for i, (ch, k, s) in enumerate(zip(p["channels"], p["kernels"], p["strides"], strict=True), 1):
        stack.append(pad(int(p["padding"])))
        stack.append(conv(ch, k, strides=s, padding="valid", activation="relu", name=f"conv{i}"))
    stack += [keras.layers.Flatten(), keras.layers.Dense(spec.num_classes, name="linear")]
    return layout.load(keras.Sequential(stack, name="cnn"), weights)
