"""The protocol every framework adapter provides, and how a worker creates one.

Adapters live in ``models/<family>/adapter.py`` and are reached through
:func:`bench.catalog.frameworks.framework_module`; nothing in the harness imports them directly.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from bench.catalog.frameworks import Variant, framework_module
from bench.zoo.specs import ModelSpec, Recipe, Settings


@runtime_checkable
class Adapter(Protocol):
    """What every framework adapter provides. All arrays in and out are NumPy.

    Layouts in and out are canonical (see :mod:`bench.catalog.architectures`); conversion to the
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


def load_adapter(variant: Variant) -> Adapter:
    """Import and create the adapter. Only a worker process may call this."""
    module = framework_module(variant.family, "adapter", variant.env)
    adapter: Adapter = module.create(variant.name, **variant.options)
    return adapter
