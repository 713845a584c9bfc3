"""Mixed precision for the tf adapter (tf.Module + tf ops), where Keras's dtype policy does not
reach: the same recipe the policy applies, written in tf ops.

* the input is cast to the compute dtype (bf16/fp16) and every op runs in its input's dtype,
  reading its float32 variables through a cast (``CanonicalModule.weight``; what Keras's
  ``AutocastVariable`` does), so the variables stay float32 master weights and the optimizer
  updates them in float32 from float32 gradients;
* batch norm computes in float32 and casts back (as Keras's ``BatchNormalization``);
* the logits are cast to float32 before the softmax cross-entropy (as Keras's losses);
* fp16 only: dynamic loss scaling (:class:`LossScale`), Keras's ``LossScaleOptimizer``
  algorithm: scale 2^15, halved and the step skipped on a non-finite gradient, doubled after
  2000 finite steps.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from bench.zoo import precision as names

DTYPES = {"bf16": tf.bfloat16, "fp16": tf.float16}


def compute_dtype(precision: str) -> tf.DType:
    return DTYPES.get(names.canonical(precision), tf.float32)


def mixed_call(module: Any, x: tf.Tensor, dtype: tf.DType, training: bool = False) -> tf.Tensor:
    """``module(x)`` computing in ``dtype``; float32 logits out (for the loss and softmax).
    Integer inputs (token ids) stay integer: the embedding lookup casts its rows instead."""
    if dtype == tf.float32:
        return module(x, training=training)
    if x.dtype.is_floating:
        x = tf.cast(x, dtype)
    return tf.cast(module(x, training=training), tf.float32)


class LossScale(tf.Module):
    """Dynamic loss scaling (fp16): Keras LossScaleOptimizer's constants and rule."""

    def __init__(self, initial: float = 2.0**15, growth_interval: int = 2000) -> None:
        super().__init__(name="loss_scale")
        self.scale = tf.Variable(initial, dtype=tf.float32, trainable=False)
        self.good_steps = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.growth_interval = growth_interval

    def step(self, grads: list[tf.Tensor], apply: Any) -> None:
        """Unscaled ``grads`` applied by ``apply(grads)`` when all finite, else skipped; the
        scale updated either way."""
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])

        def good() -> tf.Tensor:
            apply(grads)
            grow = self.good_steps + 1 >= self.growth_interval
            self.scale.assign(tf.where(grow, self.scale * 2.0, self.scale))
            self.good_steps.assign(tf.where(grow, tf.constant(0, tf.int64), self.good_steps + 1))
            return tf.constant(True)

        def bad() -> tf.Tensor:
            self.scale.assign(self.scale / 2.0)
            self.good_steps.assign(0)
            return tf.constant(False)

        tf.cond(finite, good, bad)


def probe_dtypes(precision: str) -> dict[str, str]:
    """What each op kind returns on this route, from float32 inputs and variables.

    At fp32 every op is float32 by construction, and nothing runs: running TF ops here would
    initialise TensorFlow's context, after which ``MultiWorkerMirroredStrategy`` can no longer
    configure its collective ops (a data-parallel rank builds its strategy after configure)."""
    from models.tf import sequence
    from models.tf.layers import CanonicalModule

    dtype = compute_dtype(precision)
    if dtype == tf.float32:
        kinds = ("conv", "batchnorm", "layernorm", "dense", "attention softmax", "softmax",
                 "loss", "weights", "gradients")  # fmt: skip
        return dict.fromkeys(kinds, "float32")
    weights = {
        "d.kernel": tf.ones([4, 4]).numpy(),
        "d.bias": tf.zeros([4]).numpy(),
        "c.kernel": tf.ones([3, 3, 4, 4]).numpy(),
        "c.bias": tf.zeros([4]).numpy(),
        "b.gamma": tf.ones([4]).numpy(),
        "b.beta": tf.zeros([4]).numpy(),
        "b.moving_mean": tf.zeros([4]).numpy(),
        "b.moving_variance": tf.ones([4]).numpy(),
        "l.gamma": tf.ones([4]).numpy(),
        "l.beta": tf.zeros([4]).numpy(),
    }
    m = CanonicalModule(weights, name="probe")
    x = tf.cast(tf.random.stateless_normal([2, 3, 3, 4], seed=[0, 0]), dtype)
    with tf.GradientTape() as tape:
        h = m.conv("c", x, 1, 1)
        seen = {"conv": h.dtype.name}
        h = m.batchnorm("b", h, training=True)
        seen["batchnorm"] = h.dtype.name + ("" if dtype == tf.float32 else " (out); computed "
                                            "in float32")  # fmt: skip
        ln = sequence.layer_norm(m, "l", h)
        seen["layernorm"] = ln.dtype.name + ("" if dtype == tf.float32 else " (out); computed "
                                             "in float32")  # fmt: skip
        seen["attention softmax"] = tf.nn.softmax(ln, axis=-1).dtype.name
        out = m.dense("d", tf.reduce_mean(h, axis=[1, 2]))
        seen["dense"] = out.dtype.name
        logits = tf.cast(out, tf.float32)
        seen["softmax"] = tf.nn.softmax(logits).dtype.name
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(tf.zeros([2], tf.int64), logits)
        )
    seen["loss"] = loss.dtype.name
    grad = tape.gradient(loss, m.params["d.kernel"])
    seen["weights"] = m.params["d.kernel"].dtype.name
    seen["gradients"] = grad.dtype.name
    return seen
