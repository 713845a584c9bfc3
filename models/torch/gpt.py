"""GPT-2-style causal LM: nn.Embedding + learned positions, pre-LN blocks, final LayerNorm,
logits through the token embedding's own weight (``F.linear(h, wte.weight)``: tied)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.catalog.architectures import layers
from bench.zoo import dropout as zoo_dropout
from bench.zoo.layers import LN_EPSILON, PositionalEmbedding
from bench.zoo.specs import ModelSpec
from bench.zoo.transformer_family import Config
from models.torch import layout
from models.torch.sequence import Stack, causal_mask, dropout


class GPT(layout.CanonicalModule):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        c = Config.of(spec)
        table = layers(spec)
        positions = next(la for la in table if isinstance(la, PositionalEmbedding))
        self.wte = nn.Embedding(int(spec.params["vocab_size"]), c.dim)
        self.wpe = nn.Parameter(torch.zeros(positions.weight_shapes()["wpe.embeddings"]))
        draws = zoo_dropout.Draws.of(spec)
        self.dropout = dropout(c.dropout, draws, "embedding_dropout")
        self.stack = Stack(c, draws)
        self.final_ln = nn.LayerNorm(c.dim, eps=LN_EPSILON)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        steps = tokens.shape[1]
        h = self.dropout(self.wte(tokens) + self.wpe[:steps])
        h = self.stack(h, None, causal_mask(steps, tokens.device))
        return F.linear(self.final_ln(h), self.wte.weight)  # (N, T, vocab)

    def bindings(self) -> list[layout.Binding]:
        return (
            layout.embedding("wte", self.wte)
            + layout.positional("wpe", self.wpe)
            + self.stack.bindings()
            + layout.layernorm("final_ln", self.final_ln)
        )


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> GPT:
    model = GPT(spec)
    layout.load(model.bindings(), weights)
    return model
