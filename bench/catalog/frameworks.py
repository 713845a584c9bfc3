"""The registered framework variants, and the one route by which the harness reaches their code.

A *variant* is what the user names on the command line (``torch``, ``torch:compile``, ``tf``,
``tf:xla``, ``keras``, ``keras:torch``, ``keras:jax``). Each maps to one adapter module under
``models/<family>/adapter.py`` plus options. This module never imports a framework: availability
is checked with ``importlib.util.find_spec`` and adapters are imported only by
:func:`framework_module` (the adapter protocol is :mod:`bench.run.adapter`), which only child
processes call.
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
    family: str  # "torch" | "tf" | "keras"
    tier: str  # "out of the box" | "tuned"
    description: str
    requires: tuple[str, ...]  # importable module names that must be installed
    install: str  # the command that installs what is missing
    options: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # set in the worker before any import

    def missing(self) -> list[str]:
        """Modules this variant needs that are not installed (no import is done)."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def available(self) -> bool:
        return not self.missing()


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
    )
}

#: What `bench run` uses when --frameworks is not given: the out-of-the-box tier.
DEFAULT_FRAMEWORKS = ("torch", "tf", "keras")


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
