"""Logistic regression: flatten → Linear."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from bench.zoo.specs import ModelSpec
from models.torch import layout


class LogReg(layout.CanonicalModule):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.linear = nn.Linear(math.prod(spec.input_shape), spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))

    def bindings(self) -> list[layout.Binding]:
        return layout.dense("linear", self.linear)


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> LogReg:
    model = LogReg(spec)
    layout.load(model.bindings(), weights)
    return model
