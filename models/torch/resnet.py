"""The ResNet family in idiomatic torch: BasicBlock / Bottleneck nn.Modules, as torchvision.

Shared by ``resnet20``/``resnet56`` (CIFAR: basic blocks, option-A shortcuts) and ``resnet50``
(v1.5 bottlenecks, stride on the 3x3, 1x1 projection shortcuts); the layer tables they mirror
are in bench/zoo/resnet_family.py. Convs before BatchNorm have no bias; every BatchNorm is
``momentum=0.1, eps=1e-5``, written out. Input arrives channels-last and is moved to channels-first
once (made contiguous: NCHW); global average pooling leaves (N, C), so the classifier needs no
permutation.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.zoo.layers import BN_EPSILON, BN_MOMENTUM
from bench.zoo.specs import ModelSpec
from models.torch import layout


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    conv = nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False)
    return conv, nn.BatchNorm2d(c_out, eps=BN_EPSILON, momentum=BN_MOMENTUM)


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); option A: subsample, zero-pad C."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = conv_bn(c_in, c_out, 3, stride)
        self.conv2, self.bn2 = conv_bn(c_out, c_out, 3, 1)
        self.stride = stride
        extra = c_out - c_in
        self.pad = (extra // 2, extra - extra // 2)
        self.shortcut = stride != 1 or extra != 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.shortcut:
            x = F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, *self.pad))
        return F.relu(out + x)

    def bindings(self, p: str) -> list[layout.Binding]:
        return [
            *layout.conv(f"{p}_conv1", self.conv1),
            *layout.batchnorm(f"{p}_bn1", self.bn1),
            *layout.conv(f"{p}_conv2", self.conv2),
            *layout.batchnorm(f"{p}_bn2", self.bn2),
        ]


class Bottleneck(nn.Module):
    """1x1 → 3x3 (stride here: v1.5) → 1x1 x4, plus x or a 1x1 projection with BatchNorm."""

    def __init__(self, c_in: int, width: int, stride: int) -> None:
        super().__init__()
        c_out = 4 * width
        self.conv1, self.bn1 = conv_bn(c_in, width, 1, 1)
        self.conv2, self.bn2 = conv_bn(width, width, 3, stride)
        self.conv3, self.bn3 = conv_bn(width, c_out, 1, 1)
        self.proj: nn.Conv2d | None = None
        if stride != 1 or c_in != c_out:
            self.proj, self.proj_bn = conv_bn(c_in, c_out, 1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.proj is not None:
            x = self.proj_bn(self.proj(x))
        return F.relu(out + x)

    def bindings(self, p: str) -> list[layout.Binding]:
        out = []
        for i in (1, 2, 3):
            out += layout.conv(f"{p}_conv{i}", getattr(self, f"conv{i}"))
            out += layout.batchnorm(f"{p}_bn{i}", getattr(self, f"bn{i}"))
        if self.proj is not None:
            out += layout.conv(f"{p}_proj", self.proj) + layout.batchnorm(
                f"{p}_proj_bn", self.proj_bn
            )
        return out


class ResNet(layout.CanonicalModule):
    """Stem, stages of blocks, global average pool, linear. ``imagenet``: 7x7/2 stem + max pool
    and bottlenecks; otherwise the CIFAR 3x3 stem and basic blocks."""

    def __init__(self, spec: ModelSpec, imagenet: bool) -> None:
        super().__init__()
        p = spec.params
        widths = [int(w) for w in p["widths"]]
        c_in = spec.input_shape[-1]
        self.imagenet = imagenet
        if imagenet:
            blocks = [int(n) for n in p["blocks"]]
            stem = int(p["stem"])
            self.conv1, self.bn1 = conv_bn(c_in, stem, 7, 2)
            c = stem
        else:
            blocks = [int(p["blocks"])] * len(widths)
            self.conv1, self.bn1 = conv_bn(c_in, widths[0], 3, 1)
            c = widths[0]
        self.names: list[str] = []
        stages: list[nn.Module] = []
        for s, (n, width) in enumerate(zip(blocks, widths, strict=True), start=1):
            for b in range(1, n + 1):
                stride = 2 if s > 1 and b == 1 else 1
                if imagenet:
                    stages.append(Bottleneck(c, width, stride))
                    c = 4 * width
                else:
                    stages.append(BasicBlock(c, width, stride))
                    c = width
                self.names.append(f"stage{s}_block{b}")
        self.blocks = nn.Sequential(*stages)
        self.linear = nn.Linear(c, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # movedim alone would leave channels-last strides, and torch would run every conv in
        # that memory format; contiguous() gives NCHW, torch's default, what a torch user feeds.
        h = F.relu(self.bn1(self.conv1(torch.movedim(x, -1, 1).contiguous())))
        if self.imagenet:
            h = F.max_pool2d(h, 3, 2, 1)
        h = self.blocks(h)
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))

    def bindings(self) -> list[layout.Binding]:
        out = layout.conv("conv1", self.conv1) + layout.batchnorm("bn1", self.bn1)
        for name, block in zip(self.names, self.blocks, strict=True):
            out += block.bindings(name)
        return out + layout.dense("linear", self.linear)


def build_cifar(spec: ModelSpec, weights: dict[str, np.ndarray]) -> ResNet:
    model = ResNet(spec, imagenet=False)
    layout.load(model.bindings(), weights)
    return model


def build_imagenet(spec: ModelSpec, weights: dict[str, np.ndarray]) -> ResNet:
    model = ResNet(spec, imagenet=True)
    layout.load(model.bindings(), weights)
    return model
