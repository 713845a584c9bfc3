"""Pre-LN Transformer encoder classifier: nn.Embedding (or an nn.Linear patch projection),
learned positions, blocks, final LayerNorm, mean over the (unpadded) positions, nn.Linear."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from bench.zoo import dropout as zoo_dropout
from bench.zoo.layers import LN_EPSILON
from bench.zoo.specs import ModelSpec
from bench.zoo.transformer_family import Config
from models.torch import layout
from models.torch.sequence import Stack, dropout, padding_mask


class Transformer(layout.CanonicalModule):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        c = Config.of(spec)
        self.tokens = "vocab_size" in spec.params
        self.padding = bool(spec.params.get("padding", False))
        self.first: nn.Module = (
            nn.Embedding(int(spec.params["vocab_size"]), c.dim)
            if self.tokens
            else nn.Linear(int(spec.input_shape[-1]), c.dim)
        )
        self.position = nn.Parameter(torch.zeros(c.steps, c.dim))
        draws = zoo_dropout.Draws.of(spec)
        self.dropout = dropout(c.dropout, draws, "embedding_dropout")
        self.stack = Stack(c, draws)
        self.final_ln = nn.LayerNorm(c.dim, eps=LN_EPSILON)
        self.head = nn.Linear(c.dim, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = padding_mask(x) if self.padding else None
        h = self.dropout(self.first(x) + self.position[: x.shape[1]])
        h = self.final_ln(self.stack(h, pad, None))
        if pad is None:
            pooled = h.mean(1)
        else:
            keep = (~pad).unsqueeze(-1).to(h.dtype)
            pooled = (h * keep).sum(1) / keep.sum(1)
        return self.head(pooled)

    def bindings(self) -> list[layout.Binding]:
        first = (
            layout.embedding("embedding", self.first)
            if isinstance(self.first, nn.Embedding)
            else layout.dense("patch", self.first)
        )
        return (
            first
            + layout.positional("position", self.position)
            + self.stack.bindings()
            + layout.layernorm("final_ln", self.final_ln)
            + layout.dense("head", self.head)
        )


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> Transformer:
    model = Transformer(spec)
    layout.load(model.bindings(), weights)
    return model
