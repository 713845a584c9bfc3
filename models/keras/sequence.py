"""The pre-LN Transformer in Keras layers (bench/zoo/transformer_family.py), shared by the
`transformer` and `gpt` models: keras.layers.MultiHeadAttention (per-head EinsumDense kernels;
canonical (d, d) ↔ (d, heads, head_dim) is a reshape, models/keras/layout.py),
LayerNormalization(epsilon=1e-5), Dense with the exact GELU (``approximate=False`` set: Keras's
``ops.gelu`` defaults to the tanh form), Dropout (seeded: models/keras/dropout.py), Add. Two
small layers of the suite's own: the learned positional table, and the token embedding that also
computes the tied output logits."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from bench.zoo.dropout import Draws
from bench.zoo.layers import LN_EPSILON, PAD_ID
from bench.zoo.transformer_family import Config
from models.keras import dropout


def gelu(x: Any) -> Any:
    """Exact GELU, x·Φ(x) (erf), torch's default."""
    return keras.activations.gelu(x, approximate=False)


class PositionalEmbedding(keras.layers.Layer):
    """x + table[:T], the table (positions, dim) learned; canonical ``<name>.embeddings``."""

    def __init__(self, positions: int, dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.positions, self.dim = positions, dim

    def build(self, input_shape: Any) -> None:
        self.embeddings = self.add_weight(
            shape=(self.positions, self.dim), initializer="zeros", name="embeddings"
        )

    def call(self, x: Any) -> Any:
        return x + self.embeddings[: ops.shape(x)[1]]

    def canonical_variables(self) -> dict[str, keras.Variable]:
        return {f"{self.name}.embeddings": self.embeddings}


class TiedEmbedding(keras.layers.Embedding):
    """keras.layers.Embedding that, called with ``reverse=True``, maps hidden states (N, T, d)
    to logits (N, T, vocab) with its own table transposed: the tied LM head (keras_hub's
    ReversibleEmbedding does the same)."""

    def call(self, inputs: Any, reverse: bool = False) -> Any:
        if reverse:
            return ops.matmul(inputs, ops.transpose(self.embeddings))
        return super().call(inputs)

    def compute_output_spec(self, inputs: Any, reverse: bool = False) -> Any:
        if reverse:
            shape = (*inputs.shape[:-1], self.input_dim)
            return keras.KerasTensor(shape, dtype=self.compute_dtype)
        return super().compute_output_spec(inputs)


def padding_masks(tokens: Any, steps: int) -> tuple[Any, Any]:
    """(attention mask (N, T, T): query i may attend to key j unless j is padding; pool mask
    (N, T): True at real tokens), from the token ids."""
    keep = ops.not_equal(tokens, PAD_ID)
    return ops.repeat(ops.expand_dims(keep, 1), steps, axis=1), keep


def blocks(x: Any, c: Config, draws: Draws, causal: bool, mask: Any = None) -> Any:
    """``c.layers`` pre-LN blocks on x (N, T, d), layers named ``block<i>_*``; every dropout
    seeded from ``draws`` (models/keras/dropout.py)."""
    for i in range(c.layers):
        p = f"block{i}"
        h = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name=f"{p}_ln1")(x)
        attention = dropout.attention(c.heads, c.dim // c.heads, c.dropout, draws, f"{p}_attention")
        h = attention(h, h, attention_mask=mask, use_causal_mask=causal)
        h = dropout.dropout(c.dropout, draws, f"{p}_dropout1")(h)
        x = keras.layers.Add(name=f"{p}_add1")([x, h])
        h = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name=f"{p}_ln2")(x)
        h = keras.layers.Dense(c.mlp, activation=gelu, name=f"{p}_mlp_fc")(h)
        h = keras.layers.Dense(c.dim, name=f"{p}_mlp_proj")(h)
        h = dropout.dropout(c.dropout, draws, f"{p}_dropout2")(h)
        x = keras.layers.Add(name=f"{p}_add2")([x, h])
    return x
