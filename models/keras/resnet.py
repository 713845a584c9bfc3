"""The ResNet family as a Keras 3 functional model (channels-last), any backend.

Mirrors bench/zoo/resnet_family.py: CIFAR basic blocks with option-A shortcuts
(:class:`ShortcutA`: strided slice + zero-padded channels) and ResNet-50 v1.5 bottlenecks with
the stride on the 3x3 conv — ``keras.applications.ResNet50`` puts it on the first 1x1 (v1); this
follows torchvision. Padding is explicit and symmetric (ZeroPadding2D) before "valid" convs, as
torch computes it. The max pool also pads with zeros, which equals torch's -inf padding because
it follows a ReLU (every window holds a real value ≥ 0). BatchNorm is
:class:`~models.keras.batchnorm.TorchBatchNormalization` (torch's running-variance update).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers, ops

from bench.zoo.specs import ModelSpec
from models.keras import layout
from models.keras.batchnorm import TorchBatchNormalization


class ShortcutA(layers.Layer):
    """He et al.'s option A: ``x[:, ::s, ::s]`` and zero channels, (out − in) // 2 before."""

    def __init__(self, stride: int, extra: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stride, self.extra = stride, extra

    def call(self, x: Any) -> Any:
        s, e = self.stride, self.extra
        return ops.pad(x[:, ::s, ::s, :], [[0, 0], [0, 0], [0, 0], [e // 2, e - e // 2]])

    def compute_output_shape(self, shape: tuple) -> tuple:
        def sub(n: int | None) -> int | None:
            return None if n is None else -(-n // self.stride)

        return (shape[0], sub(shape[1]), sub(shape[2]), shape[3] + self.extra)


def conv_bn(x: Any, conv: str, bn: str, channels: int, kernel: int, stride: int) -> Any:
    if kernel > 1:
        x = layers.ZeroPadding2D(kernel // 2)(x)
    x = layers.Conv2D(channels, kernel, strides=stride, padding="valid", use_bias=False,
                      name=conv)(x)  # fmt: skip
    return TorchBatchNormalization(name=bn)(x)


def basic_block(x: Any, p: str, stride: int, c_in: int, c_out: int) -> Any:
    out = layers.ReLU()(conv_bn(x, f"{p}_conv1", f"{p}_bn1", c_out, 3, stride))
    out = conv_bn(out, f"{p}_conv2", f"{p}_bn2", c_out, 3, 1)
    if stride != 1 or c_in != c_out:
        x = ShortcutA(stride, c_out - c_in, name=f"{p}_shortcut")(x)
    return layers.ReLU()(layers.Add()([out, x]))


def bottleneck(x: Any, p: str, stride: int, c_in: int, width: int) -> Any:
    c_out = 4 * width
    out = layers.ReLU()(conv_bn(x, f"{p}_conv1", f"{p}_bn1", width, 1, 1))
    out = layers.ReLU()(conv_bn(out, f"{p}_conv2", f"{p}_bn2", width, 3, stride))
    out = conv_bn(out, f"{p}_conv3", f"{p}_bn3", c_out, 1, 1)
    if stride != 1 or c_in != c_out:
        x = conv_bn(x, f"{p}_proj", f"{p}_proj_bn", c_out, 1, stride)
    return layers.ReLU()(layers.Add()([out, x]))


def _build(spec: ModelSpec, weights: dict[str, np.ndarray], imagenet: bool) -> keras.Model:
    p = spec.params
    widths = [int(w) for w in p["widths"]]
    inputs = keras.Input(spec.input_shape)
    if imagenet:
        blocks = [int(n) for n in p["blocks"]]
        c = int(p["stem"])
        h = layers.ReLU()(conv_bn(inputs, "conv1", "bn1", c, 7, 2))
        h = layers.MaxPooling2D(3, 2, padding="valid")(layers.ZeroPadding2D(1)(h))
    else:
        blocks = [int(p["blocks"])] * len(widths)
        c = widths[0]
        h = layers.ReLU()(conv_bn(inputs, "conv1", "bn1", c, 3, 1))
    for s, (n, width) in enumerate(zip(blocks, widths, strict=True), start=1):
        for b in range(1, n + 1):
            stride = 2 if s > 1 and b == 1 else 1
            if imagenet:
                h, c = bottleneck(h, f"stage{s}_block{b}", stride, c, width), 4 * width
            else:
                h, c = basic_block(h, f"stage{s}_block{b}", stride, c, width), width
    h = layers.GlobalAveragePooling2D()(h)
    logits = layers.Dense(spec.num_classes, name="linear")(h)
    return layout.load(keras.Model(inputs, logits, name=spec.name), weights)


def build_cifar(spec: ModelSpec, weights: dict[str, np.ndarray]) -> keras.Model:
    return _build(spec, weights, imagenet=False)


def build_imagenet(spec: ModelSpec, weights: dict[str, np.ndarray]) -> keras.Model:
    return _build(spec, weights, imagenet=True)
