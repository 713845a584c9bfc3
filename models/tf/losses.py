"""The training loss: softmax cross-entropy with torch's label smoothing, in TF ops.

TF has label smoothing only for one-hot targets (``tf.keras.losses.CategoricalCrossentropy``),
so it is written out: with log p = log_softmax(logits) and K classes,
loss = mean over the batch of −(1 − eps)·log p_y − eps·mean_k log p_k, torch's formula.
At eps = 0 the fused ``sparse_softmax_cross_entropy_with_logits`` is used, as before.
"""

from __future__ import annotations

import tensorflow as tf


def cross_entropy(logits: tf.Tensor, labels: tf.Tensor, label_smoothing: float = 0.0) -> tf.Tensor:
    """Mean cross-entropy of ``logits`` (N, K) against integer ``labels`` (N,); a language
    model's (N, T, V) logits and (N, T) labels are flattened: the mean over all N·T positions."""
    if logits.shape.rank is not None and logits.shape.rank > 2:
        logits = tf.reshape(logits, [-1, tf.shape(logits)[-1]])
        labels = tf.reshape(labels, [-1])
    eps = float(label_smoothing)
    if eps == 0.0:
        return tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )
    log_p = tf.nn.log_softmax(logits, axis=-1)
    nll = -tf.gather(log_p, labels, axis=1, batch_dims=1)
    uniform = -tf.reduce_mean(log_p, axis=-1)
    return tf.reduce_mean((1.0 - eps) * nll + eps * uniform)
