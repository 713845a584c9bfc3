"""The MNIST-1D paper's MLP: h = relu(W1 x); h = h + relu(W2 h); logits = W3 h."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.zoo.specs import ModelSpec
from models.torch import layout


class MLP(layout.CanonicalModule):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        hidden = int(spec.params.get("hidden", 100))
        self.linear1 = nn.Linear(math.prod(spec.input_shape), hidden)
        self.linear2 = nn.Linear(hidden, hidden)
        self.linear3 = nn.Linear(hidden, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.linear1(x.flatten(1)))
        h = h + F.relu(self.linear2(h))
        return self.linear3(h)

    def bindings(self) -> list[layout.Binding]:
        return [
            *layout.dense("linear1", self.linear1),
            *layout.dense("linear2", self.linear2),
            *layout.dense("linear3", self.linear3),
        ]


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> MLP:
    model = MLP(spec)
    layout.load(model.bindings(), weights)
    return model
