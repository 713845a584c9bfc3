"""Pre-LN Transformer encoder classifier in TF ops: gathered token rows (or a patch
projection), positions, blocks, final LayerNorm, mean over unpadded positions, dense head."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bench.zoo.layers import PAD_ID
from bench.zoo.specs import ModelSpec
from bench.zoo.transformer_family import Config
from models.tf import sequence
from models.tf.layers import CanonicalModule


class Transformer(CanonicalModule):
    def __init__(self, spec: ModelSpec, weights: dict[str, np.ndarray]) -> None:
        super().__init__(weights, name="transformer")
        self.config = Config.of(spec)
        self.tokens = "vocab_size" in spec.params
        self.padding = bool(spec.params.get("padding", False))
        self.dropout_rng = sequence.DropoutRNG(spec)

    def __call__(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        c, steps = self.config, x.shape[1]
        if self.tokens:
            h = self.rows("embedding.embeddings", x)
        else:
            h = sequence.dense(self, "patch", x)
        h = h + self.positions("position.embeddings", steps)
        noise = self.dropout_rng.noise(c.dropout, training)
        h = sequence.dropout(h, c.dropout, noise, "embedding_dropout")
        allowed = sequence.key_mask(x) if self.padding else None
        h = sequence.layer_norm(self, "final_ln", sequence.blocks(self, h, c, allowed, noise))
        if self.padding:
            keep = tf.cast(tf.not_equal(x, PAD_ID), h.dtype)[..., None]
            pooled = tf.reduce_sum(h * keep, axis=1) / tf.reduce_sum(keep, axis=1)
        else:
            pooled = tf.reduce_mean(h, axis=1)
        return self.dense("head", pooled)


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> Transformer:
    return Transformer(spec, weights)
