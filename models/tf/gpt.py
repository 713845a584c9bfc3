"""GPT-2-style causal LM in TF ops: gathered token rows + positions, pre-LN blocks with a causal
mask, final LayerNorm, logits against the token table itself (tied)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bench.zoo.specs import ModelSpec
from bench.zoo.transformer_family import Config
from models.tf import sequence
from models.tf.layers import CanonicalModule


class GPT(CanonicalModule):
    def __init__(self, spec: ModelSpec, weights: dict[str, np.ndarray]) -> None:
        super().__init__(weights, name="gpt")
        self.config = Config.of(spec)
        self.dropout_rng = sequence.DropoutRNG(spec)

    def __call__(self, tokens: tf.Tensor, training: bool = False) -> tf.Tensor:
        c, steps = self.config, tokens.shape[1]
        h = self.rows("wte.embeddings", tokens) + self.positions("wpe.embeddings", steps)
        noise = self.dropout_rng.noise(c.dropout, training)
        h = sequence.dropout(h, c.dropout, noise, "embedding_dropout")
        h = sequence.blocks(self, h, c, sequence.causal(steps), noise)
        h = sequence.layer_norm(self, "final_ln", h)
        return tf.einsum("ntd,vd->ntv", h, self.weight("wte.embeddings", h))


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> GPT:
    return GPT(spec, weights)
