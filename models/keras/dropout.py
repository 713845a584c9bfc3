"""Keras dropout that draws from the run's seed (bench/zoo/dropout.py), on every backend.

Own masks: ``keras.layers.Dropout(rate, seed=...)`` and ``MultiHeadAttention(..., seed=...)``,
each seeded per site (its canonical layer name). Unseeded, each layer's SeedGenerator takes a
seed from Python's ``random``, which differs from process to process; seeded, it draws from a
state variable that starts at the seed and advances with each draw, the same on every backend.

Shared masks (the parity mode): :class:`SharedDropout` multiplies by the NumPy mask of its site
for its training call count, fetched from the host by the backend's own callback
(``tf.numpy_function``, ``jax.pure_callback``; the torch backend runs eagerly), and
:class:`SharedMaskAttention` puts one on the attention probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from bench.zoo import dropout as zoo_dropout


def dropout(rate: float, draws: zoo_dropout.Draws, name: str) -> keras.layers.Layer:
    """The dropout layer named ``name`` (its site), seeded from the run."""
    if draws.shared:
        return SharedDropout(rate, draws, name, name=name)
    return keras.layers.Dropout(rate, seed=draws.site_seed(name), name=name)


def attention(heads: int, key_dim: int, rate: float, draws: zoo_dropout.Draws, name: str) -> Any:
    """keras.layers.MultiHeadAttention with its attention dropout seeded from the run."""
    if draws.shared:
        return SharedMaskAttention(draws, heads, key_dim, dropout=rate, name=name)
    return keras.layers.MultiHeadAttention(
        heads, key_dim, dropout=rate, seed=draws.site_seed(name), name=name
    )


class SharedDropout(keras.layers.Layer):
    """x · the shared mask of ``site`` at this layer's training call count; identity in
    inference and at rate 0. Not jit-compiled on the tensorflow backend (tf.numpy_function is
    not an XLA op): Keras sees ``supports_jit`` False and keeps the step a tf.function."""

    def __init__(self, rate: float, draws: zoo_dropout.Draws, site: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate, self.draws, self.site = rate, draws, site
        self.supports_jit = keras.backend.backend() != "tensorflow"
        self.supports_masking = True  # as keras.layers.Dropout: a Keras mask passes through
        self.count = self.add_weight(
            shape=(), dtype="int32", initializer="zeros", trainable=False, name="count"
        )

    def call(self, x: Any, training: bool = False) -> Any:
        if not training or self.rate == 0:
            return x

        def draw(step: Any, shape: Any) -> np.ndarray:
            return self.draws.mask(self.site, int(step), tuple(int(n) for n in shape), self.rate)

        # drawn before the count moves on: on the tensorflow backend a mask taking the
        # variable after the update would read the next step's count
        mask = host_array(draw, self.count.value, x)
        self.count.assign(self.count.value + 1)
        return x * keras.ops.cast(mask, x.dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


class SharedMaskAttention(keras.layers.MultiHeadAttention):
    """MultiHeadAttention whose attention-probability dropout is a :class:`SharedDropout`:
    Keras 3 builds ``_dropout_layer`` in ``_build_attention`` and applies it to the (N, heads,
    T, S) probabilities (a private hook; tests/models/test_dropout.py would see it move)."""

    def __init__(self, draws: zoo_dropout.Draws, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.draws = draws

    def _build_attention(self, rank: int) -> None:
        super()._build_attention(rank)
        self._dropout_layer = SharedDropout(
            self._dropout, self.draws, self.name, name="shared_dropout"
        )


def host_array(draw: Callable[[Any, Any], np.ndarray], step: Any, like: Any) -> Any:
    """``draw(step, shape of like)``, a float32 NumPy array shaped like ``like``, called from
    inside the backend's compiled step."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        out = tf.numpy_function(draw, [step, tf.shape(like)], tf.float32)
        out.set_shape(like.shape)
        return out
    if backend == "jax":
        import jax

        shape = tuple(like.shape)
        spec = jax.ShapeDtypeStruct(shape, np.float32)
        return jax.pure_callback(lambda s: draw(s, shape), spec, step)
    return keras.ops.convert_to_tensor(draw(keras.ops.convert_to_numpy(step), like.shape))
