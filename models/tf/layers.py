"""The few layer computations the TF models share, written with tf.nn ops on channels-last data.

Weights live in one ``tf.Module`` per model as ``tf.Variable`` objects keyed by their canonical
names; canonical layout is TF's own (dense (in, out), conv HWIO, GRU gates z, r, n with the reset
gate after the recurrent matmul), so loading weights is a plain copy.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from bench.zoo.layers import BN_EPSILON, BN_MOMENTUM, is_state


class CanonicalModule(tf.Module):
    """A tf.Module whose variables are named and shaped exactly as the canonical weights."""

    #: Unroll recurrences into the graph (set False for XLA; see :meth:`gru_direction`).
    unroll: bool = True
    #: The ops' dtype (bf16/fp16 under mixed precision; set by the adapter's build). Float
    #: inputs arrive cast already; what starts from a variable (an embedding row, a position
    #: table) is cast with :meth:`rows` and :meth:`positions`.
    compute_dtype: tf.DType = tf.float32

    def __init__(self, weights: dict[str, np.ndarray], name: str) -> None:
        super().__init__(name=name)
        self.names = list(weights)  # canonical order, for get_weights
        #: Trainable weights by canonical name (what the optimizer and gradients see).
        self.params: dict[str, tf.Variable] = {
            key: tf.Variable(np.asarray(value, np.float32), name=key.replace(".", "_"))
            for key, value in weights.items()
            if not is_state(key)
        }
        #: Canonical state (BatchNorm running statistics): non-trainable variables.
        self.state: dict[str, tf.Variable] = {
            key: tf.Variable(
                np.asarray(value, np.float32), name=key.replace(".", "_"), trainable=False
            )
            for key, value in weights.items()
            if is_state(key)
        }

    @property
    def ordered(self) -> list[tf.Variable]:
        return list(self.params.values())

    def __call__(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Logits; ``training`` selects batch statistics (and updates them) in BatchNorm."""
        raise NotImplementedError

    def weight(self, key: str, like: tf.Tensor) -> tf.Tensor:
        """The float32 variable ``key`` read in ``like``'s dtype: the ops run in their input's
        dtype (bf16/fp16 under mixed precision, see models/tf/precision.py), the variables stay
        float32 master weights and their gradients come back float32 through the cast."""
        v = self.params[key]
        return v if v.dtype == like.dtype else tf.cast(v, like.dtype)

    def rows(self, key: str, ids: tf.Tensor) -> tf.Tensor:
        """Embedding rows of the float32 table ``key`` for token ``ids``, in the compute dtype
        (gathered first, then cast: the gradient stays a float32 row update)."""
        rows = tf.gather(self.params[key], ids)
        return rows if self.compute_dtype == tf.float32 else tf.cast(rows, self.compute_dtype)

    def positions(self, key: str, steps: int) -> tf.Tensor:
        """The first ``steps`` rows of the learned position table ``key``, in the compute dtype."""
        table = self.params[key][:steps]
        return table if self.compute_dtype == tf.float32 else tf.cast(table, self.compute_dtype)

    def dense(self, name: str, x: tf.Tensor) -> tf.Tensor:
        return tf.matmul(x, self.weight(f"{name}.kernel", x)) + self.weight(f"{name}.bias", x)

    def batchnorm(self, name: str, x: tf.Tensor, training: bool) -> tf.Tensor:
        """TF's fused batch norm (NHWC), eps 1e-5. Training: normalise with the batch's biased
        variance and move the running statistics by 0.1 toward the batch mean and the
        *unbiased* variance, as torch does (the fused kernel's ``exponential_avg_factor``).
        A bf16/fp16 input is normalised in float32 and cast back, as Keras's layer does."""
        dtype = x.dtype
        x = tf.cast(x, tf.float32) if dtype != tf.float32 else x
        mean, var = self.state[f"{name}.moving_mean"], self.state[f"{name}.moving_variance"]
        y, new_mean, new_var, *_ = tf.compat.v1.nn.fused_batch_norm(
            x, self.params[f"{name}.gamma"], self.params[f"{name}.beta"],
            mean=mean.read_value() if training else mean,
            variance=var.read_value() if training else var,
            epsilon=BN_EPSILON, data_format="NHWC", is_training=training,
            exponential_avg_factor=BN_MOMENTUM if training else 1.0,
        )  # fmt: skip
        if training:
            mean.assign(new_mean)
            var.assign(new_var)
        return y if dtype == tf.float32 else tf.cast(y, dtype)

    def conv(self, name: str, x: tf.Tensor, stride: int, padding: int) -> tf.Tensor:
        """Symmetric zero padding then a 'valid' convolution: torch's arithmetic. TF's "same"
        with stride 2 would pad asymmetrically and shift every output position."""
        dims = len(x.shape) - 2
        x = tf.pad(x, [[0, 0]] + [[padding, padding]] * dims + [[0, 0]])
        kernel = self.weight(f"{name}.kernel", x)
        if dims == 1:
            y = tf.nn.conv1d(x, kernel, stride=stride, padding="VALID")
        else:
            y = tf.nn.conv2d(x, kernel, strides=stride, padding="VALID")
        if f"{name}.bias" not in self.params:
            return y
        return tf.nn.bias_add(y, self.weight(f"{name}.bias", y))

    def gru_direction(self, prefix: str, x: tf.Tensor, hidden: int, reverse: bool) -> tf.Tensor:
        """One GRU direction over all steps of x (N, T, F) → outputs (N, T, H) in input order.

        The input projection of every step is one matmul up front. The recurrence is either a
        Python loop unrolled inside the tf.function (T is static) or a ``tf.scan`` (a while loop).
        Measured on the MNIST-1D GRU training step (batch 100, 2 threads, interleaved rounds):
        graph mode runs the unrolled loop about 5% faster (8.6 vs 9.0 ms; it traces in ~5 s
        against ~0.6 s, which only the warm-up sees); XLA compiles the unrolled graph for over a
        minute and runs it at half speed, where it compiles the scan in ~4 s. So ``tf`` unrolls
        and ``tf:xla`` scans. The backward direction reads time reversed and its outputs are put
        back at their input positions.
        """
        kernel = self.weight(f"{prefix}.kernel", x)
        recurrent = self.weight(f"{prefix}.recurrent_kernel", x)
        bias = self.weight(f"{prefix}.bias", x)
        projected = tf.einsum("ntf,fg->ntg", x, kernel) + bias[0]  # (N, T, 3H)
        h0 = tf.zeros([tf.shape(x)[0], hidden], dtype=x.dtype)

        def cell(h: tf.Tensor, xt: tf.Tensor) -> tf.Tensor:
            xz, xr, xn = tf.split(xt, 3, axis=-1)
            hz, hr, hn = tf.split(tf.matmul(h, recurrent) + bias[1], 3, axis=-1)
            z = tf.sigmoid(xz + hz)
            r = tf.sigmoid(xr + hr)
            n = tf.tanh(xn + r * hn)
            return (1.0 - z) * n + z * h

        if self.unroll:
            steps = x.shape[1]
            h = h0
            outputs: list[tf.Tensor] = [h0] * steps
            for t in range(steps - 1, -1, -1) if reverse else range(steps):
                h = cell(h, projected[:, t])
                outputs[t] = h
            return tf.stack(outputs, axis=1)
        seq = tf.transpose(projected, [1, 0, 2])  # time-major for scan
        if reverse:
            seq = tf.reverse(seq, [0])
        out = tf.scan(cell, seq, initializer=h0)
        if reverse:
            out = tf.reverse(out, [0])
        return tf.transpose(out, [1, 0, 2])


def flatten(x: tf.Tensor) -> tf.Tensor:
    return tf.reshape(x, [tf.shape(x)[0], -1])
