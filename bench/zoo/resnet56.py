"""ResNet-56 (He et al. 2016, CIFAR): ResNet-20 with 9 basic blocks per stage."""

from __future__ import annotations

from bench.zoo.base import Architecture, Variant
from bench.zoo.resnet_family import CIFAR_RECIPE, SYNTHETIC_CIFAR_RECIPE, cifar_layers
from bench.zoo.specs import ModelSpec

PARAMS = {"blocks": 9, "widths": [16, 32, 64]}

ARCHITECTURE = Architecture(
    name="resnet56",
    description="ResNet-56 (He et al. 2016): ResNet-20's design with 9 blocks per stage",
    layers=cifar_layers,
    variants={
        "synthetic-cifar10": Variant((32, 32, 3), PARAMS, recipe=SYNTHETIC_CIFAR_RECIPE),
        "cifar10": Variant(
            (32, 32, 3), PARAMS, recipe=CIFAR_RECIPE, accuracy_target=0.90, paper_accuracy=0.9303
        ),
    },
    tiny=ModelSpec("resnet56", (8, 8, 3), 10, {"blocks": 2, "widths": [4, 8, 16]}),
    init="he",
    order=60,
)
