"""ResNet-20 (He et al. 2016, CIFAR): 3 stages x 3 basic blocks, 16/32/64 channels, option A."""

from __future__ import annotations

from bench.zoo.base import Architecture, Variant
from bench.zoo.resnet_family import (
    CIFAR_RECIPE,
    DIGITS_RECIPE,
    MNIST_RECIPE,
    SYNTHETIC_CIFAR_RECIPE,
    cifar_layers,
)
from bench.zoo.specs import ModelSpec

PARAMS = {"blocks": 3, "widths": [16, 32, 64]}

ARCHITECTURE = Architecture(
    name="resnet20",
    description="ResNet-20 (He et al. 2016): 3x3 basic blocks, 3 stages 16/32/64 channels, "
    "BatchNorm, option-A shortcuts, global average pool",
    layers=cifar_layers,
    variants={
        "digits": Variant(
            (8, 8, 1),
            PARAMS,
            suites=("standard",),
            recipe=DIGITS_RECIPE,
            accuracy_target=0.95,
            # torch, seeds 0-4, `bench run --suite standard`, final test accuracy
            # 0.9861/0.9889/0.9806/0.9889/0.9806: sample std 0.0042 (docs/models.md)
            seed_spread={"standard": 0.0042},
        ),
        "synthetic-cifar10": Variant(
            (32, 32, 3), PARAMS, suites=("standard",), recipe=SYNTHETIC_CIFAR_RECIPE
        ),
        "cifar10": Variant(
            (32, 32, 3), PARAMS, recipe=CIFAR_RECIPE, accuracy_target=0.90, paper_accuracy=0.9125
        ),
        # MNIST from --data-dir, 28x28x1: stages at 28, 14 and 7 pixels. CIFAR ResNets end near
        # 99.5 % on MNIST; 99 % comes in the first few epochs.
        "mnist": Variant((28, 28, 1), PARAMS, recipe=MNIST_RECIPE, accuracy_target=0.99),
    },
    # Parity tests: one block per stage (depth 8), narrow, 8x8 RGB — every layer kind remains.
    tiny=ModelSpec("resnet20", (8, 8, 3), 10, {"blocks": 1, "widths": [4, 8, 16]}),
    init="he",
    order=50,
)
