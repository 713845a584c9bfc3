"""The pre-LN Transformer pieces in TF ops (bench/zoo/transformer_family.py), shared by the
`transformer` and `gpt` models. Variables are the canonical ones (CanonicalModule), so the query,
key and value projections are three separate (d, d) matmuls — as Keras's MultiHeadAttention
does; TF has no fused-QKV attention op (no fused kernel here). Attention is written out:
softmax(q k^T / sqrt(head_dim) + mask) v, in the compute dtype's einsums (float32, or bf16/fp16
under mixed precision: every variable is read through ``CanonicalModule.weight``); GELU is the
exact erf form (``tf.nn.gelu(approximate=False)``); LayerNorm uses eps 1e-5 and the biased
variance, and computes in float32 whatever its input's dtype (as Keras's LayerNormalization
does under a mixed policy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from bench.zoo import dropout as zoo_dropout
from bench.zoo.layers import LN_EPSILON, PAD_ID
from bench.zoo.specs import ModelSpec
from bench.zoo.transformer_family import Config
from models.tf.layers import CanonicalModule

#: Put in masked scores: exp underflows to exactly 0, and a row with every key masked stays
#: finite (uniform) instead of NaN. float16 tops out at 65504, so -1e9 would be -inf there.
MASKED = {tf.float16: -3e4}
MASKED_DEFAULT = -1e9


def dense(m: CanonicalModule, name: str, x: tf.Tensor) -> tf.Tensor:
    """``x @ kernel + bias`` at every position of (N, T, in)."""
    kernel, bias = m.weight(f"{name}.kernel", x), m.weight(f"{name}.bias", x)
    return tf.einsum("nti,io->nto", x, kernel) + bias


def layer_norm(m: CanonicalModule, name: str, x: tf.Tensor) -> tf.Tensor:
    """Over the last axis, in float32 (a bf16 variance loses the small differences it is made
    of); the result in ``x``'s dtype."""
    dtype = x.dtype
    x = x if dtype == tf.float32 else tf.cast(x, tf.float32)
    mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
    xhat = (x - mean) * tf.math.rsqrt(var + LN_EPSILON)
    y = xhat * m.params[f"{name}.gamma"] + m.params[f"{name}.beta"]
    return y if dtype == tf.float32 else tf.cast(y, dtype)


class DropoutRNG:
    """A model's dropout RNG: the spec's seed (bench/zoo/dropout.py) and a counter of training
    forward passes. ``tf.nn.dropout`` draws from TF's global RNG, seeded afresh by every
    process; here each site draws with ``stateless_dropout`` keyed by (its site seed, this
    forward's index), so the same run gives the same masks in any process (``tf:xla``'s
    kernel draws other masks than graph mode's, each as repeatably)."""

    def __init__(self, spec: ModelSpec) -> None:
        self.plan = zoo_dropout.Draws.of(spec)
        self.count = tf.Variable(0, dtype=tf.int64, trainable=False, name="dropout_draws")

    def noise(self, rate: float, training: bool) -> Noise | None:
        """This forward's dropout (advancing the counter), or None: inference, or rate 0."""
        if not training or rate == 0:
            return None
        return Noise(self.plan, self.count.assign_add(1) - 1)


@dataclass(frozen=True)
class Noise:
    """One training forward's dropout: the model's plan and the forward's index."""

    plan: zoo_dropout.Draws
    step: tf.Tensor  # int64 scalar


def dropout(x: tf.Tensor, rate: float, noise: Noise | None, site: str) -> tf.Tensor:
    """Inverted dropout at the site named ``site`` (its canonical layer name); identity without
    ``noise``. Shared masks (a parity mode): the NumPy array of bench/zoo/dropout.py, fetched by
    ``tf.numpy_function`` (so not under XLA: the adapter refuses that)."""
    if noise is None or rate == 0:
        return x
    if not noise.plan.shared:
        seed = tf.stack([tf.constant(noise.plan.site_seed(site), tf.int64), noise.step])
        return tf.nn.experimental.stateless_dropout(x, rate, seed)

    def draw(step: np.ndarray, shape: np.ndarray) -> np.ndarray:
        return noise.plan.mask(site, int(step), tuple(shape), rate)

    mask = tf.numpy_function(draw, [noise.step, tf.shape(x)], tf.float32)
    mask.set_shape(x.shape)
    return x * tf.cast(mask, x.dtype)


def attention(
    m: CanonicalModule, name: str, x: tf.Tensor, c: Config, allowed: tf.Tensor | None,
    noise: Noise | None,
) -> tf.Tensor:  # fmt: skip
    """Multi-head self-attention of x (N, T, d); ``allowed`` broadcasts to (N, heads, T, T),
    True where query i may attend to key j (None: everywhere)."""
    n, t = tf.shape(x)[0], tf.shape(x)[1]
    hd = c.dim // c.heads

    def heads(part: str) -> tf.Tensor:
        y = dense(m, f"{name}.{part}", x)
        return tf.transpose(tf.reshape(y, [n, t, c.heads, hd]), [0, 2, 1, 3])

    q, k, v = heads("query"), heads("key"), heads("value")
    scores = tf.matmul(q, k, transpose_b=True) * (1.0 / hd**0.5)
    if allowed is not None:
        masked = tf.constant(MASKED.get(scores.dtype, MASKED_DEFAULT), scores.dtype)
        scores = tf.where(allowed, scores, masked)
    probs = dropout(tf.nn.softmax(scores, axis=-1), c.dropout, noise, name)
    out = tf.reshape(tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3]), [n, t, c.dim])
    return dense(m, f"{name}.output", out)


def blocks(
    m: CanonicalModule, x: tf.Tensor, c: Config, allowed: tf.Tensor | None, noise: Noise | None
) -> tf.Tensor:
    for i in range(c.layers):
        p = f"block{i}"
        a = attention(m, f"{p}_attention", layer_norm(m, f"{p}_ln1", x), c, allowed, noise)
        x = x + dropout(a, c.dropout, noise, f"{p}_dropout1")
        h = tf.nn.gelu(dense(m, f"{p}_mlp_fc", layer_norm(m, f"{p}_ln2", x)), approximate=False)
        x = x + dropout(dense(m, f"{p}_mlp_proj", h), c.dropout, noise, f"{p}_dropout2")
    return x


def key_mask(tokens: tf.Tensor) -> tf.Tensor:
    """(N, 1, 1, T): True at keys that are not padding."""
    return tf.not_equal(tokens, PAD_ID)[:, None, None, :]


def causal(steps: int) -> tf.Tensor:
    """(T, T): True where key j ≤ query i."""
    return tf.cast(tf.linalg.band_part(tf.ones([steps, steps]), -1, 0), tf.bool)
