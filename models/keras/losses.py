"""The training loss: softmax cross-entropy with torch's label smoothing, in keras.ops.

``keras.losses.SparseCategoricalCrossentropy`` has no ``label_smoothing`` (only the one-hot
``CategoricalCrossentropy`` has), so it is written out: with log p = log_softmax(logits),
loss = mean over the batch of −(1 − eps)·log p_y − eps·mean_k log p_k, torch's formula.
At eps = 0 the adapter keeps Keras's stock sparse loss, what a Keras user compiles with.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def cross_entropy(logits: Any, labels: Any, label_smoothing: float = 0.0) -> Any:
    """Mean cross-entropy of ``logits`` (N, K) against integer ``labels`` (N,); a language
    model's (N, T, V) logits and (N, T) labels: the mean over all N·T positions."""
    return ops.mean(per_sample(logits, labels, label_smoothing))


def per_sample(logits: Any, labels: Any, label_smoothing: float) -> Any:
    eps = float(label_smoothing)
    logits = ops.reshape(logits, (-1, ops.shape(logits)[-1]))  # an LM's (N, T, V): N·T samples
    log_p = ops.log_softmax(logits, axis=-1)
    labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
    nll = -ops.take_along_axis(log_p, ops.expand_dims(labels, -1), axis=-1)[:, 0]
    if eps == 0.0:
        return nll
    return (1.0 - eps) * nll - eps * ops.mean(log_p, axis=-1)


class SmoothedSparseCrossEntropy(keras.losses.Loss):
    """Sparse labels, logits in, torch's label smoothing; mean over the batch as compile's."""

    def __init__(self, label_smoothing: float, name: str = "smoothed_sparse_cross_entropy"):
        super().__init__(name=name, reduction="sum_over_batch_size")
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return per_sample(y_pred, y_true, self.label_smoothing)

    def get_config(self) -> dict[str, Any]:
        return {"label_smoothing": self.label_smoothing, "name": self.name}


def for_recipe(label_smoothing: float) -> keras.losses.Loss:
    """The Loss object ``model.compile`` gets: Keras's stock one when there is no smoothing."""
    if float(label_smoothing) == 0.0:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return SmoothedSparseCrossEntropy(label_smoothing)
