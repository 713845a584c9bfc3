"""GPT-2-style causal LM as a Keras functional model: the token embedding (also the tied
head), learned positions, pre-LN blocks with ``use_causal_mask=True``, final LayerNorm."""

from __future__ import annotations

import keras
import numpy as np

from bench.catalog.architectures import layers
from bench.zoo.dropout import Draws
from bench.zoo.layers import LN_EPSILON, PositionalEmbedding
from bench.zoo.specs import ModelSpec
from bench.zoo.transformer_family import Config
from models.keras import dropout, layout, sequence


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> keras.Model:
    c = Config.of(spec)
    table = next(la for la in layers(spec) if isinstance(la, PositionalEmbedding))
    positions = table.weight_shapes()["wpe.embeddings"][0]
    tokens = keras.Input(spec.input_shape, dtype="int32")
    wte = sequence.TiedEmbedding(int(spec.params["vocab_size"]), c.dim, name="wte")
    h = sequence.PositionalEmbedding(positions, c.dim, name="wpe")(wte(tokens))
    draws = Draws.of(spec)
    h = dropout.dropout(c.dropout, draws, "embedding_dropout")(h)
    h = sequence.blocks(h, c, draws, causal=True)
    h = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="final_ln")(h)
    logits = wte(h, reverse=True)
    return layout.load(keras.Model(tokens, logits, name="gpt"), weights)
