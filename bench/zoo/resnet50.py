"""ResNet-50 v1.5 (torchvision's): bottleneck blocks 3/4/6/3, stride on the 3x3 conv."""

from __future__ import annotations

from dataclasses import replace

from bench.zoo.base import Architecture, Variant
from bench.zoo.recipes import resnet_imagenet
from bench.zoo.resnet_family import imagenet_layers
from bench.zoo.specs import ModelSpec

PARAMS = {"blocks": [3, 4, 6, 3], "widths": [64, 128, 256, 512], "stem": 64}
#: GPU-sized: batch 64, Goyal et al.'s / "bag of tricks" recipe (lr 0.1 per 256, warm-up then
#: cosine, weight decay 1e-4 without BN/bias decay, label smoothing 0.1), 100 timed steps.
GPU_RECIPE = replace(resnet_imagenet(100, 64, warmup_steps=5), eval_every=100, warmup_steps=10)
#: On a CPU: a few timed steps at batch 8 (one step is ~25 GFLOP forward + backward).
CPU_RECIPE = replace(resnet_imagenet(6, 8, warmup_steps=1), eval_every=6, warmup_steps=2)

ARCHITECTURE = Architecture(
    name="resnet50",
    description="ResNet-50 v1.5 (torchvision): bottleneck blocks 3/4/6/3, stride on the 3x3 "
    "conv, 1x1 projection shortcuts, BatchNorm, max pool stem",
    layers=imagenet_layers,
    variants={
        "synthetic-imagenet": Variant(
            (224, 224, 3), PARAMS, suites=("large",), recipe=GPU_RECIPE, cpu_recipe=CPU_RECIPE
        ),
    },
    tiny=ModelSpec(
        "resnet50", (64, 64, 3), 10, {"blocks": [1, 1, 1, 1], "widths": [4, 4, 8, 8], "stem": 4}
    ),
    init="he",
    order=70,
)
