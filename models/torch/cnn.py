"""Conv stack (each conv followed by ReLU, symmetric zero padding) → flatten → Linear.

1-D on MNIST-1D, 2-D on digits. Input arrives channels-last, (N, L, 1) or (N, H, W, 1), as the
spec says; torch convolves channels-first, so the channel axis moves to position 1 (with one input
channel this is a free view). The conv output is flattened channel-major, torch's natural order;
the linear layer's rows are permuted at load time to match (see :func:`layout.dense_after_conv`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.catalog.architectures import Conv, Dense, layers
from bench.zoo.specs import ModelSpec
from models.torch import layout


class CNN(layout.CanonicalModule):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        table = layers(spec)
        convs = [layer for layer in table if isinstance(layer, Conv)]
        head = table[-1]
        assert isinstance(head, Dense) and head.flattened_from is not None
        conv_cls = {1: nn.Conv1d, 2: nn.Conv2d}[len(spec.input_shape) - 1]
        self.convs = nn.ModuleList(
            conv_cls(c.in_channels, c.out_channels, c.kernel, c.stride, c.padding) for c in convs
        )
        self.conv_names = [c.name for c in convs]
        self.linear = nn.Linear(head.in_features, head.out_features)
        self.flat = head.flattened_from

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.movedim(x, -1, 1)  # channels-last → channels-first
        for conv in self.convs:
            h = F.relu(conv(h))
        return self.linear(h.flatten(1))

    def bindings(self) -> list[layout.Binding]:
        out: list[layout.Binding] = []
        for name, conv in zip(self.conv_names, self.convs, strict=True):
            out += layout.conv(name, conv)
        return out + layout.dense_after_conv("linear", self.linear, self.flat)


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> CNN:
    model = CNN(spec)
    layout.load(model.bindings(), weights)
    return model
