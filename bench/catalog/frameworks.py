"""The registered framework variants, and the one route by which the harness reaches their code.

A *variant* is what the user names on the command line (``torch``, ``torch:compile``, ``tf``,
``tf:xla``, ``keras``, ``keras:torch``, ``keras:jax``, and the ``sklearn`` reference). Each maps to
one adapter module under ``models/<family>/adapter.py`` plus options.

A *reference* variant (``sklearn``) is no contestant: scikit-learn's linear model on the same data,
batches and weights, run to tell whether a framework's accuracy is the model's ceiling or a bug. It
runs only the (model, dataset) pairs and recipes it can express (:func:`reference_refusal`), and
every output shows it as "reference", outside "vs fastest", the speed ratios and any ranking.

This module never imports a framework: availability is checked with ``importlib.util.find_spec``
and adapters are imported only by :func:`framework_module` (the adapter protocol is
:mod:`bench.run.adapter`), which only child processes call.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Variant:
    name: str
    family: str  # "torch" | "tf" | "keras" | "sklearn"
    tier: str  # "out of the box" | "tuned" | "reference"
    description: str
    requires: tuple[str, ...]  # importable module names that must be installed
    install: str  # the command that installs what is missing
    options: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # set in the worker before any import
    #: (model, dataset) pairs a reference variant runs; None: every registered pair.
    pairs: tuple[tuple[str, str], ...] | None = None

    @property
    def reference(self) -> bool:
        """A reference beside the frameworks, never ranked among them."""
        return self.tier == REFERENCE

    def missing(self) -> list[str]:
        """Modules this variant needs that are not installed (no import is done)."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def available(self) -> bool:
        return not self.missing()


REFERENCE = "reference"
_TORCH = "pip install -e '.[torch]' -c constraints.txt"
_TF = "pip install -e '.[tf]' -c constraints.txt"
_KERAS = "pip install -e '.[keras]' -c constraints.txt"

VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "torch",
            "torch",
            "out of the box",
            "PyTorch eager: nn.Module, a plain loop",
            ("torch",),
            _TORCH,
        ),
        Variant(
            "torch:compile",
            "torch",
            "tuned",
            "the same module through torch.compile",
            ("torch",),
            _TORCH,
            {"compile": True},
        ),
        Variant(
            "tf",
            "tf",
            "out of the box",
            "TensorFlow: tf.Module of tf.Variables, tf.nn ops, GradientTape in tf.function",
            ("tensorflow",),
            _TF,
        ),
        Variant(
            "tf:xla",
            "tf",
            "tuned",
            "the same with tf.function(jit_compile=True)",
            ("tensorflow",),
            _TF,
            {"xla": True},
        ),
        Variant(
            "keras",
            "keras",
            "out of the box",
            "Keras 3 compile/fit, TensorFlow backend",
            ("keras", "tensorflow"),
            _KERAS,
            {"backend": "tensorflow"},
            {"KERAS_BACKEND": "tensorflow"},
        ),
        Variant(
            "keras:torch",
            "keras",
            "tuned",
            "the same Keras model on the torch backend",
            ("keras", "torch"),
            f"{_KERAS} && {_TORCH}",
            {"backend": "torch"},
            {"KERAS_BACKEND": "torch"},
        ),
        Variant(
            "keras:jax",
            "keras",
            "tuned",
            "the same Keras model on the JAX backend",
            ("keras", "jax"),
            "pip install -e '.[keras,jax]' -c constraints.txt",
            {"backend": "jax"},
            {"KERAS_BACKEND": "jax"},
        ),
        Variant(
            "sklearn",
            "sklearn",
            REFERENCE,
            "scikit-learn's linear model: MLPClassifier(hidden_layer_sizes=()) stepped with Adam "
            "on the suite's batches from its weights, and LogisticRegression fitted to its optimum",
            ("sklearn", "threadpoolctl"),
            "pip install -e . -c constraints.txt (scikit-learn is a core dependency)",
            pairs=(("logreg", "mnist1d"), ("logreg", "digits")),
        ),
    )
}

#: What `bench run` uses when --frameworks is not given: the out-of-the-box tier.
DEFAULT_FRAMEWORKS = ("torch", "tf", "keras")


def is_reference(name: str) -> bool:
    """Whether framework ``name`` is a reference row (an unknown name is not)."""
    variant = VARIANTS.get(name)
    return variant is not None and variant.reference


def reference_refusal(
    variant: Variant, model: str, dataset: str, recipe: Any, precision: str = "fp32"
) -> str | None:
    """Why a reference variant cannot run this cell, in one line; None when it can (and always
    for a framework). scikit-learn's MLPClassifier has one Adam with a fixed rate, Keras's formula
    (docs/recipes.md), an L2 term on kernels only, no smoothing or clipping, float32 or float64."""
    if not variant.reference:
        return None
    if variant.pairs is not None and (model, dataset) not in variant.pairs:
        runs = ", ".join(f"{m} on {d}" for m, d in variant.pairs)
        return f"{variant.name} is a reference for {runs} only"
    if precision != "fp32":
        return f"{variant.name} runs in fp32 only, not {precision}"
    return recipe_refusal(variant, recipe)


def recipe_refusal(variant: Variant, recipe: Any) -> str | None:
    """Why a reference variant cannot train with ``recipe``, in one line; None when it can."""
    if not variant.reference:
        return None
    why = []
    if recipe.optimizer != "adam":
        why.append(f"optimizer {recipe.optimizer} (it steps with Adam only)")
    if recipe.schedule != "constant":
        why.append(f"the {recipe.schedule} schedule (its Adam keeps one rate)")
    if recipe.weight_decay and not recipe.decay_exclusions:
        why.append("weight decay on biases (its L2 term decays kernels only)")
    if recipe.label_smoothing:
        why.append("label smoothing")
    if recipe.clip_grad_norm:
        why.append("gradient clipping")
    return f"{variant.name} cannot express {'; '.join(why)}" if why else None


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown framework {name!r}; choose from {', '.join(VARIANTS)}") from None


def framework_module(family: str, name: str, env: dict[str, str] | None = None) -> ModuleType:
    """``models/<family>/<name>.py``, imported after ``env`` is set: the harness's one route to
    framework code (the adapter, the data-parallel entry, the calibration matmul).

    The import-linter contracts cannot see through ``importlib``, so this is the only place in
    ``bench`` that names ``models``; only child processes call it, never the harness itself.
    """
    for key, value in (env or {}).items():
        os.environ[key] = value
    return importlib.import_module(f"models.{family}.{name}")
