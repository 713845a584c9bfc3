"""What one model declaration holds (see bench/zoo/__init__.py for how they are found)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.zoo.layers import Layer
from bench.zoo.specs import ModelSpec, Recipe


@dataclass(frozen=True)
class Variant:
    """The model on one dataset: its input shape, its sizes, and what the catalog says of it."""

    input_shape: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)
    #: Suites this (model, dataset) pair belongs to ("paper", "quick", "standard", "large").
    suites: tuple[str, ...] = ()
    #: Its training recipe; None: the suite's default recipe (the MNIST-1D paper's).
    recipe: Recipe | None = None
    #: The recipe used on a CPU where ``recipe`` is GPU-sized (the ``large`` suite); None: same.
    cpu_recipe: Recipe | None = None
    #: Test-accuracy target for time-to-accuracy; None: no accuracy cell on this data.
    accuracy_target: float | None = None
    #: Test accuracy a paper reports for this model on this dataset, if any.
    paper_accuracy: float | None = None
    #: Seed-to-seed standard deviation of final test accuracy per suite (torch, seeds 0-4, the
    #: runs quoted in README and docs/). ``bench compare`` judges accuracy against it, and where
    #: a suite has none, against the test set's binomial standard error (a floor).
    seed_spread: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Architecture:
    """One model, declared once.

    ``layers`` turns a :class:`ModelSpec` into the layer table; ``variants`` maps a dataset to
    its :class:`Variant`; ``tiny`` is a small configuration of the same layer kinds that the
    parity tests run (big models are tested at tiny sizes to keep ``make test`` short).
    ``init`` names the scheme of :mod:`bench.catalog.weights` ("torch": PyTorch's default uniform,
    "he": He normal for convs). ``order`` sorts the registry (the CLI lists, suites' order).
    Framework code is found by convention: ``models/<framework>/<name>.py``, ``build(spec,
    weights)``.
    """

    name: str
    description: str
    layers: Callable[[ModelSpec], list[Layer]]
    variants: dict[str, Variant]
    tiny: ModelSpec
    init: str = "torch"
    order: int = 100
