"""LSTM models in Keras: the (bi)LSTM classifier (keras.layers.LSTM, wrapped in Bidirectional, then
Dense) and the language model (Embedding → LSTM → Dense at every position).

Every argument that decides the arithmetic is written out: tanh/sigmoid activations, one bias
(the canonical layout is Keras's own: kernel (in, 4H), recurrent_kernel (H, 4H), bias (4H), gates
i, f, g, o), no dropout. ``unit_forget_bias`` (Keras's default forget-gate bias of 1) and every
initializer are irrelevant: the canonical initial weights are loaded over them. Bidirectional
with ``merge_mode="concat"`` gives [forward, backward]: per step, or the final states (the
backward layer's after the first step) without ``return_sequences``.
"""

from __future__ import annotations

import keras
import numpy as np

from bench.catalog.architectures import LSTM as LSTMLayer
from bench.catalog.architectures import GlobalAvgPool, layers
from bench.zoo.layers import Embedding
from bench.zoo.specs import ModelSpec
from models.keras import layout


def lstm_layer(layer: LSTMLayer) -> keras.layers.Layer:
    rnn = keras.layers.LSTM(
        layer.hidden,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        unit_forget_bias=False,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=layer.return_sequences,
        name=layer.name,
    )
    if layer.bidirectional:
        return keras.layers.Bidirectional(rnn, merge_mode="concat", name=layer.name)
    return rnn


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> keras.Model:
    if spec.params.get("task") == "lm":
        return language_model(spec, weights)
    table = layers(spec)
    assert isinstance(table[0], LSTMLayer)
    stack = [keras.Input(spec.input_shape), lstm_layer(table[0])]
    if any(isinstance(layer, GlobalAvgPool) for layer in table):
        stack.append(keras.layers.GlobalAveragePooling1D(name="pool"))
    stack.append(keras.layers.Dense(spec.num_classes, name="linear"))
    return layout.load(keras.Sequential(stack, name="lstm"), weights)


def language_model(spec: ModelSpec, weights: dict[str, np.ndarray]) -> keras.Model:
    """keras.layers.Embedding → LSTM (every step) → Dense, which Keras applies at every position:
    token ids (N, T) int32 → logits (N, T, vocab)."""
    embedding, rnn, head = layers(spec)
    assert isinstance(embedding, Embedding) and isinstance(rnn, LSTMLayer)
    model = keras.Sequential(
        [
            keras.Input(spec.input_shape, dtype="int32"),
            keras.layers.Embedding(embedding.vocab, embedding.dim, name="embedding"),
            lstm_layer(rnn),
            keras.layers.Dense(head.out_features, name="linear"),
        ],
        name="lstm",
    )
    return layout.load(model, weights)
