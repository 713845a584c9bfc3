"""The ResNet family with tf.nn ops on a tf.Module (channels-last, TF's native layout).

Mirrors bench/zoo/resnet_family.py: CIFAR basic blocks with option-A shortcuts (strided slice +
zero-padded channels) and ResNet-50 v1.5 bottlenecks (stride on the 3x3) with 1x1 projections.
Padding is explicit and symmetric before "VALID" convs and pooling, as torch computes it (TF's
"SAME" with stride 2 pads only after, which shifts every window); the max pool pads with -inf.
BatchNorm is the fused kernel (see :meth:`CanonicalModule.batchnorm`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bench.zoo.specs import ModelSpec
from models.tf.layers import CanonicalModule


class ResNet(CanonicalModule):
    def __init__(self, spec: ModelSpec, weights: dict[str, np.ndarray], imagenet: bool) -> None:
        super().__init__(weights, name=spec.name)
        p = spec.params
        self.imagenet = imagenet
        widths = [int(w) for w in p["widths"]]
        blocks = [int(n) for n in p["blocks"]] if imagenet else [int(p["blocks"])] * len(widths)
        c = int(p["stem"]) if imagenet else widths[0]
        #: (name prefix, stride, channels in, channels out) of every block, in order.
        self.blocks: list[tuple[str, int, int, int]] = []
        for s, (n, width) in enumerate(zip(blocks, widths, strict=True), start=1):
            for b in range(1, n + 1):
                c_out = 4 * width if imagenet else width
                self.blocks.append((f"stage{s}_block{b}", 2 if s > 1 and b == 1 else 1, c, c_out))
                c = c_out

    def conv_bn(self, conv: str, bn: str, x: tf.Tensor, stride: int, training: bool) -> tf.Tensor:
        kernel = int(self.params[f"{conv}.kernel"].shape[0])
        return self.batchnorm(bn, self.conv(conv, x, stride, kernel // 2), training)

    def basic(self, p: str, x: tf.Tensor, stride: int, c_in: int, c_out: int, training: bool):
        out = tf.nn.relu(self.conv_bn(f"{p}_conv1", f"{p}_bn1", x, stride, training))
        out = self.conv_bn(f"{p}_conv2", f"{p}_bn2", out, 1, training)
        if stride != 1 or c_in != c_out:  # option A
            extra = c_out - c_in
            x = tf.pad(x[:, ::stride, ::stride, :],
                       [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])  # fmt: skip
        return tf.nn.relu(out + x)

    def bottleneck(self, p: str, x: tf.Tensor, stride: int, c_in: int, c_out: int,
                   training: bool) -> tf.Tensor:  # fmt: skip
        out = tf.nn.relu(self.conv_bn(f"{p}_conv1", f"{p}_bn1", x, 1, training))
        out = tf.nn.relu(self.conv_bn(f"{p}_conv2", f"{p}_bn2", out, stride, training))
        out = self.conv_bn(f"{p}_conv3", f"{p}_bn3", out, 1, training)
        if stride != 1 or c_in != c_out:
            x = self.conv_bn(f"{p}_proj", f"{p}_proj_bn", x, stride, training)
        return tf.nn.relu(out + x)

    def __call__(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        h = tf.nn.relu(self.conv_bn("conv1", "bn1", x, 2 if self.imagenet else 1, training))
        if self.imagenet:
            h = tf.pad(h, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=-np.inf)
            h = tf.nn.max_pool2d(h, 3, 2, "VALID")
        block = self.bottleneck if self.imagenet else self.basic
        for p, stride, c_in, c_out in self.blocks:
            h = block(p, h, stride, c_in, c_out, training)
        return self.dense("linear", tf.reduce_mean(h, axis=[1, 2]))


def build_cifar(spec: ModelSpec, weights: dict[str, np.ndarray]) -> ResNet:
    return ResNet(spec, weights, imagenet=False)


def build_imagenet(spec: ModelSpec, weights: dict[str, np.ndarray]) -> ResNet:
    return ResNet(spec, weights, imagenet=True)
