"""Bidirectional GRU over the sequence, every step's output flattened → Linear.

As in the MNIST-1D paper's code: nn.GRU(batch_first=True, bidirectional=True) gives (N, T, 2H)
with [forward, backward] per step, the backward outputs already re-aligned to their time
positions; that is reshaped to (N, T * 2H) for the linear layer. Initial hidden state zeros.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from bench.catalog.architectures import GRU as GRULayer
from bench.catalog.architectures import Dense, layers
from bench.zoo.specs import ModelSpec
from models.torch import layout


class GRU(layout.CanonicalModule):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        rnn, head = layers(spec)
        assert isinstance(rnn, GRULayer) and isinstance(head, Dense)
        self.gru = nn.GRU(
            rnn.input_size, rnn.hidden, batch_first=True, bidirectional=rnn.bidirectional
        )
        self.linear = nn.Linear(head.in_features, head.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(x)  # (N, T, 2H)
        return self.linear(out.reshape(out.shape[0], -1))

    def bindings(self) -> list[layout.Binding]:
        return layout.gru("gru", self.gru) + layout.dense("linear", self.linear)


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> GRU:
    model = GRU(spec)
    layout.load(model.bindings(), weights)
    return model
