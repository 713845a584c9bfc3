"""The registered models, datasets and suites: what `bench run` can be asked for.

A suite names (model, dataset) pairs and one recipe. ``paper`` is the MNIST-1D paper's recipe
(Greydanus 2020: Adam, lr 1e-2, batch 100, 6,000 steps, weight decay 0, test accuracy every 250
steps); ``quick`` is the same recipe cut short for a first look and for CI.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.architectures import MODEL_NAMES
from bench.data import DATASET_NAMES
from bench.specs import ModelSpec, Recipe

#: Which models run on which dataset. MNIST-1D: the paper's four. Digits: a dense and a 2-D conv.
MODELS_BY_DATASET: dict[str, tuple[str, ...]] = {
    "mnist1d": ("logreg", "mlp", "cnn", "gru"),
    "digits": ("mlp", "cnn"),
}

MODEL_DESCRIPTIONS = {
    "logreg": "logistic regression: one linear layer",
    "mlp": "MLP in→100→100→10 with the residual h + relu(W2 h) of the paper's code",
    "cnn": "three convolutions (stride 2, padding 1) and a linear layer; 1-D on MNIST-1D, "
    "2-D on digits",
    "gru": "bidirectional GRU, hidden 6, all 40 steps' outputs flattened into a linear layer",
}

#: Test accuracy the paper reports on MNIST-1D (its Table 1), for the report and the paper check.
PAPER_ACCURACY = {"logreg": 0.32, "mlp": 0.68, "cnn": 0.94, "gru": 0.91}

#: Per (model, dataset) test-accuracy target for time-to-accuracy (DAWNBench-style): a level each
#: model reaches well inside the paper recipe on this data.
ACCURACY_TARGETS: dict[tuple[str, str], float] = {
    ("logreg", "mnist1d"): 0.25,
    ("mlp", "mnist1d"): 0.55,
    ("cnn", "mnist1d"): 0.80,
    ("gru", "mnist1d"): 0.75,
    ("mlp", "digits"): 0.95,
    ("cnn", "digits"): 0.95,
}


#: Seed-to-seed standard deviation of final test accuracy, per (suite, model, dataset), measured
#: with torch over seeds 0-4 (see the README). `bench compare` judges accuracy changes by it.
SEED_SPREAD: dict[tuple[str, str, str], float] = {
    # quick suite, torch, seeds 0-4 (sample standard deviation of final test accuracy)
    ("quick", "logreg", "mnist1d"): 0.0103,
    ("quick", "mlp", "mnist1d"): 0.0084,
    ("quick", "cnn", "mnist1d"): 0.0416,
    ("quick", "gru", "mnist1d"): 0.0442,
    ("quick", "mlp", "digits"): 0.0042,
    ("quick", "cnn", "digits"): 0.0023,
}


def model_spec(model: str, dataset: str, num_classes: int = 10) -> ModelSpec:
    """The spec of ``model`` on ``dataset``: input shape and layer sizes for that data."""
    if dataset not in MODELS_BY_DATASET:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASET_NAMES)}")
    if model not in MODELS_BY_DATASET[dataset]:
        raise ValueError(
            f"model {model!r} is not registered for dataset {dataset!r}; "
            f"choose from {', '.join(MODELS_BY_DATASET[dataset])}"
        )
    if dataset == "mnist1d":
        return {
            "logreg": ModelSpec("logreg", (40,), num_classes),
            "mlp": ModelSpec("mlp", (40,), num_classes, {"hidden": 100}),
            "cnn": ModelSpec(
                "cnn",
                (40, 1),
                num_classes,
                {
                    "channels": [25, 25, 25],
                    "kernels": [5, 3, 3],
                    "strides": [2, 2, 2],
                    "padding": 1,
                },
            ),
            "gru": ModelSpec("gru", (40, 1), num_classes, {"hidden": 6, "bidirectional": True}),
        }[model]
    return {
        "mlp": ModelSpec("mlp", (64,), num_classes, {"hidden": 100}),
        "cnn": ModelSpec(
            "cnn",
            (8, 8, 1),
            num_classes,
            {"channels": [16, 32], "kernels": [3, 3], "strides": [1, 2], "padding": 1},
        ),
    }[model]


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    pairs: tuple[tuple[str, str], ...]  # (model, dataset)
    recipe: Recipe


PAPER_RECIPE = Recipe(
    optimizer="adam", lr=1e-2, batch_size=100, steps=6000, eval_every=250, warmup_steps=10
)

SUITES: dict[str, Suite] = {
    "quick": Suite(
        "quick",
        "the MNIST-1D MLP and CNN, the paper recipe cut to 300 steps: a first look in under "
        "3 minutes, and CI",
        (("mlp", "mnist1d"), ("cnn", "mnist1d")),  # make bench's budget (docs/measurement.md)
        replace(PAPER_RECIPE, steps=300, eval_every=50),
    ),
    "paper": Suite(
        "paper",
        "the MNIST-1D paper: four models, Adam lr 1e-2, batch 100, 6,000 steps",
        tuple((m, "mnist1d") for m in MODELS_BY_DATASET["mnist1d"]),
        PAPER_RECIPE,
    ),
}

__all__ = [
    "ACCURACY_TARGETS",
    "DATASET_NAMES",
    "MODELS_BY_DATASET",
    "MODEL_NAMES",
    "PAPER_ACCURACY",
    "SUITES",
    "Suite",
    "model_spec",
]
