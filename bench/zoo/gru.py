"""Bidirectional GRU, hidden 6; every step's output flattened into a linear layer."""

from __future__ import annotations

from bench.zoo.base import Architecture, Variant
from bench.zoo.layers import GRU, Dense, Layer
from bench.zoo.specs import ModelSpec


def layers(spec: ModelSpec) -> list[Layer]:
    hidden = int(spec.params.get("hidden", 6))
    bidirectional = bool(spec.params.get("bidirectional", True))
    steps, features = spec.input_shape
    directions = 2 if bidirectional else 1
    return [
        GRU("gru", features, hidden, steps, bidirectional),
        Dense("linear", steps * hidden * directions, spec.num_classes),
    ]


ARCHITECTURE = Architecture(
    name="gru",
    description="bidirectional GRU, hidden 6, all 40 steps' outputs flattened into a linear layer",
    layers=layers,
    variants={
        "mnist1d": Variant(
            (40, 1),
            {"hidden": 6, "bidirectional": True},
            suites=("paper",),
            accuracy_target=0.75,
            paper_accuracy=0.91,
            seed_spread={"quick": 0.0442, "paper": 0.0162},
        ),
    },
    tiny=ModelSpec("gru", (40, 1), 10, {"hidden": 6, "bidirectional": True}),
    order=40,
)
