"""Pre-LN Transformer encoder classifier as a Keras functional model: Embedding (or a Dense
patch projection), learned positions, blocks, final LayerNorm, GlobalAveragePooling1D (masked
at padding), Dense head."""

from __future__ import annotations

import keras
import numpy as np

from bench.zoo.dropout import Draws
from bench.zoo.layers import LN_EPSILON
from bench.zoo.specs import ModelSpec
from bench.zoo.transformer_family import Config
from models.keras import dropout, layout, sequence


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> keras.Model:
    c = Config.of(spec)
    tokens = "vocab_size" in spec.params
    padding = bool(spec.params.get("padding", False))
    x = keras.Input(spec.input_shape, dtype="int32" if tokens else "float32")
    if tokens:
        h = keras.layers.Embedding(int(spec.params["vocab_size"]), c.dim, name="embedding")(x)
    else:
        h = keras.layers.Dense(c.dim, name="patch")(x)
    h = sequence.PositionalEmbedding(c.steps, c.dim, name="position")(h)
    draws = Draws.of(spec)
    h = dropout.dropout(c.dropout, draws, "embedding_dropout")(h)
    attention_mask, keep = sequence.padding_masks(x, c.steps) if padding else (None, None)
    h = sequence.blocks(h, c, draws, causal=False, mask=attention_mask)
    h = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="final_ln")(h)
    pooled = keras.layers.GlobalAveragePooling1D(name="pool")(h, mask=keep)
    logits = keras.layers.Dense(spec.num_classes, name="head")(pooled)
    return layout.load(keras.Model(x, logits, name="transformer"), weights)
