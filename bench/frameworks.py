"""The Framework (adapter) protocol, the registered variants, and how an adapter is found.

A *variant* is what the user names on the command line (``torch``, ``torch:compile``, ``tf``,
``tf:xla``, ``keras``, ``keras:torch``, ``keras:jax``). Each maps to one adapter module under
``models/<family>/adapter.py`` plus options. This module never imports a framework: availability
is checked with ``importlib.util.find_spec`` and adapters are imported only by
:func:`load_adapter`, which only the worker process calls.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from bench.specs import ModelSpec, Recipe, Settings


@runtime_checkable
class Adapter(Protocol):
    """What every framework adapter provides. All arrays in and out are NumPy.

    Layouts in and out are canonical (see :mod:`bench.architectures`); conversion to the
    framework's own layout happens inside the adapter, once, at build time.
    """

    name: str

    def configure(self, settings: Settings) -> dict[str, Any]:
        """Apply threads, precision (TF32), determinism and device before anything is built.

        Returns the fairness manifest of what was actually set, read back from the framework
        where it can be (``threads_intra``, ``threads_inter``, ``precision``, ``tf32``,
        ``compile``, ``deterministic``, ``layout``, ``device``, ``versions``, ``notes``).
        Called once per process; calling it again with the same settings must not fail.
        """
        ...

    def build(
        self,
        spec: ModelSpec,
        weights: dict[str, np.ndarray],
        recipe: Recipe,
        lr: np.ndarray,
        stock_optimizer: bool = False,
    ) -> Any:
        """A trainable model holding ``weights`` with its optimizer; ``lr[k]`` is step k's rate
        (steps past the end use the last entry). ``stock_optimizer``: the framework's own
        optimizer class with the same hyper-parameters (the timing passes' speed figures)
        instead of the formula-matched one."""
        ...

    def train_round(
        self, model: Any, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run ``len(x)`` optimizer steps in order on batches ``x[i], y[i]``.

        ``x`` is (n, batch, *input_shape) float32, ``y`` is (n, batch) int64. Each step is timed
        alone with ``time.perf_counter`` and the device synchronized. Returns (seconds per step,
        float64 (n,); training loss per step, float32 (n,)).
        """
        ...

    def train_window(self, model: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """The same steps as :meth:`train_round` as one throughput window: timed as a whole,
        the device synchronized once at its end. Returns (seconds, loss per step)."""
        ...

    def evaluate(
        self, model: Any, x: np.ndarray, y: np.ndarray, batch_size: int
    ) -> tuple[float, float]:
        """(mean cross-entropy, accuracy) over all of ``x`` in inference mode, no gradients."""
        ...

    def predict_round(self, model: Any, x: np.ndarray) -> np.ndarray:
        """Inference timing: one forward pass per ``x[i]`` (n, batch, ...), each timed alone;
        returns seconds per call, float64 (n,)."""
        ...

    def logits(self, model: Any, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Forward pass, no weight update (parity tests); ``training=True`` runs train mode
        (BatchNorm: batch statistics, running statistics updated as in a training step)."""
        ...

    def loss_and_gradients(
        self, model: Any, x: np.ndarray, y: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Mean cross-entropy (train mode) and its gradients by canonical name and layout, for
        the trainable weights only (not BatchNorm running statistics); no weight update."""
        ...

    def get_weights(self, model: Any) -> dict[str, np.ndarray]:
        """Current weights by canonical name and layout."""
        ...

    def peak_device_memory(self) -> int | None:
        """Peak accelerator bytes since the last reset from the framework's own counters, or
        None on the CPU."""
        ...

    def reset_peak_device_memory(self) -> None: ...


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

    @property
    def module(self) -> str:
        return f"models.{self.family}.adapter"

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


def load_adapter(variant: Variant) -> Adapter:
    """Import and create the adapter. Only a worker process may call this."""
    for key, value in variant.env.items():
        os.environ[key] = value
    module = importlib.import_module(variant.module)
    adapter: Adapter = module.create(variant.name, **variant.options)
    return adapter
