"""LSTM models in TF (the classifier and the language model): the recurrence written with tf ops,
weights in the canonical layout.

The canonical LSTM layout (kernel (in, 4H), recurrent_kernel (H, 4H), one bias (4H), gates
i, f, g, o) is TF's own, so loading is a copy. As the GRU (models/tf/layers.py), the input
projection of every step is one matmul up front. Unlike the GRU, the recurrence is always a
``tf.scan`` (a while loop, as Keras's LSTM on the TF backend): on the MNIST-1D bi-LSTM's training
step (batch 100, hidden 32, 40 steps, 2 threads, graph mode) the scan ran 18.9 ms against 44.4 ms
for the Python loop unrolled into the graph (one measurement on a shared machine: noisy, but
2.4x), and it traces in 0.6 s instead of 2.2 s.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bench.catalog.architectures import LSTM as LSTMLayer
from bench.catalog.architectures import GlobalAvgPool, layers
from bench.zoo.specs import ModelSpec
from models.tf.layers import CanonicalModule


def lstm_direction(
    module: CanonicalModule, prefix: str, x: tf.Tensor, reverse: bool
) -> tuple[tf.Tensor, tf.Tensor]:
    """One direction over x (N, T, F): (outputs (N, T, H) at their input positions, final h).
    ``module`` holds the weights (its ``unroll`` is the GRU's switch, not used here)."""
    kernel = module.weight(f"{prefix}.kernel", x)
    recurrent = module.weight(f"{prefix}.recurrent_kernel", x)
    bias = module.weight(f"{prefix}.bias", x)
    hidden = recurrent.shape[0]
    projected = tf.einsum("ntf,fg->ntg", x, kernel) + bias  # (N, T, 4H)
    zeros = tf.zeros([tf.shape(x)[0], hidden], dtype=projected.dtype)

    def cell(state: tuple[tf.Tensor, tf.Tensor], xt: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        h, c = state
        i, f, g, o = tf.split(xt + tf.matmul(h, recurrent), 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        return tf.sigmoid(o) * tf.tanh(c), c

    seq = tf.transpose(projected, [1, 0, 2])  # time-major for scan
    if reverse:
        seq = tf.reverse(seq, [0])
    hs, _ = tf.scan(cell, seq, initializer=(zeros, zeros))
    last = hs[-1]
    if reverse:
        hs = tf.reverse(hs, [0])
    return tf.transpose(hs, [1, 0, 2]), last


def lstm(module: CanonicalModule, layer: LSTMLayer, x: tf.Tensor) -> tf.Tensor:
    """The layer's output: every step's [forward, backward] or the final states."""
    runs = [lstm_direction(module, p, x, reverse=j == 1) for j, p in enumerate(layer.directions)]
    parts = [seq if layer.return_sequences else last for seq, last in runs]
    return parts[0] if len(parts) == 1 else tf.concat(parts, axis=-1)


class LSTMClassifier(CanonicalModule):
    def __init__(self, spec: ModelSpec, weights: dict[str, np.ndarray]) -> None:
        super().__init__(weights, name="lstm")
        table = layers(spec)
        assert isinstance(table[0], LSTMLayer)
        self.layer = table[0]
        self.mean = any(isinstance(layer, GlobalAvgPool) for layer in table)

    def __call__(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        out = lstm(self, self.layer, x)
        if self.mean:
            out = tf.reduce_mean(out, axis=1)
        return self.dense("linear", out)


class LSTMLanguageModel(CanonicalModule):
    """Token ids (N, T) → embedding rows (tf.gather) → LSTM → logits (N, T, vocab)."""

    def __init__(self, spec: ModelSpec, weights: dict[str, np.ndarray]) -> None:
        super().__init__(weights, name="lstm")
        self.layer = layers(spec)[1]
        assert isinstance(self.layer, LSTMLayer)

    def __call__(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        out = lstm(self, self.layer, self.rows("embedding.embeddings", x))
        kernel, bias = self.weight("linear.kernel", out), self.weight("linear.bias", out)
        return tf.einsum("nth,hv->ntv", out, kernel) + bias


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> LSTMClassifier | LSTMLanguageModel:
    if spec.params.get("task") == "lm":
        return LSTMLanguageModel(spec, weights)
    return LSTMClassifier(spec, weights)
