"""The Keras 3 adapter on any Keras backend: the custom train step of Keras's guide in the step
scope, ``model.fit`` (the way Keras users train) in the loop scope.

The backend (tensorflow, torch or jax) is fixed by ``KERAS_BACKEND`` before keras is first
imported; the harness sets it from the variant, and :func:`create` refuses a mismatch rather than
silently benchmarking the wrong backend.

Timing: training (``train_round``, whose per-step times are the step latency) and the throughput
windows (``train_window``) run one step function (:func:`models.keras.timing.step_function`:
the guide "Writing a training loop from scratch"'s step on the tensorflow backend) on batches
staged as backend tensors, the scope of torch's and tf's step. ``train_round`` times each step
with ``perf_counter`` around the step and a device sync, as torch's and tf's do. ``fit``'s
per-step extras (data adapter, callbacks, loss tracker, logs) are timed in the loop scope
(``loop_window``), which runs ``model.fit``.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from typing import Any

import numpy as np

from bench.zoo.specs import ModelSpec, Recipe, Settings

BACKENDS = ("tensorflow", "torch", "jax")


def create(name: str, backend: str = "tensorflow", **options: Any) -> KerasAdapter:
    """The adapter for variant ``name`` on Keras backend ``backend``."""
    if options:
        raise TypeError(f"unknown options for the keras adapter: {sorted(options)}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown Keras backend {backend!r}; choose from {BACKENDS}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "keras" not in sys.modules:
        os.environ.setdefault("KERAS_BACKEND", backend)
    import keras

    if keras.backend.backend() != backend:
        raise RuntimeError(
            f"variant {name!r} asks for the Keras {backend} backend but keras runs on "
            f"{keras.backend.backend()!r}: set KERAS_BACKEND={backend} before keras is imported"
        )
    return KerasAdapter(name, backend)


class KerasAdapter:
    def __init__(self, name: str, backend: str) -> None:
        import keras

        self.name = name
        self.backend = backend
        self.loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.manifest: dict[str, Any] = {}

    # -- settings ------------------------------------------------------------------------------

    def configure(self, settings: Settings) -> dict[str, Any]:
        import keras

        from models.keras import settings as backend_settings

        manifest = backend_settings.apply(self.backend, settings)
        manifest["versions"] = {"keras": keras.__version__, **manifest["versions"]}
        manifest["compile"] = self._default_compile_mode()
        manifest["notes"] += [
            "Keras adapter trains with a custom keras.optimizers.Optimizer that implements "
            "PyTorch's arithmetic (coupled L2, Adam eps on sqrt(v_hat)) instead of "
            "keras.optimizers.Adam/RMSprop/Adagrad, whose formulas and defaults differ",
            "training and the step scope (train_round's synced steps, hence step latency and "
            "time to first step; train_window's throughput windows) run the custom train step "
            "of Keras's guide 'Writing a training loop from scratch' (tensorflow backend: "
            "tf.function, compute_loss, GradientTape, optimizer.apply) on batches staged as "
            "backend tensors: the scope of torch's and tf's step; torch backend: "
            "model.train_function; jax backend: train_on_batch",
            "model.fit is timed in the loop scope (loop_window): its per-step extras (data "
            "adapter, callbacks, loss tracker, metrics dict) are there, not in the step scope",
            "torch backend: per-step loss recovered from train_function's running mean: "
            "k*mean_k - (k-1)*mean_(k-1)",
            "evaluate: model.predict over batches, then cross-entropy and accuracy in NumPy "
            "(compiling an accuracy metric would add its cost to every training step)",
            "predict_round: model.predict_on_batch per batch (Keras's compiled inference step, "
            "output returned as NumPy); eager model(x, training=False) is 3-40x slower on the "
            "tensorflow backend (GRU: 330 ms vs 8 ms per batch of 100)",
        ]
        self.manifest = manifest
        return manifest

    def _default_compile_mode(self) -> str:
        """What compile(jit_compile="auto") resolves to here, read from Keras on a probe model."""
        import keras

        probe = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        probe.compile(optimizer="sgd", loss="mse")
        return _compile_mode(self.backend, bool(probe.jit_compile))

    # -- model ---------------------------------------------------------------------------------

    def build(
        self,
        spec: ModelSpec,
        weights: dict[str, np.ndarray],
        recipe: Recipe,
        lr: np.ndarray,
        stock_optimizer: bool = False,
    ) -> Any:
        from models.keras import layout, losses, optim, precision

        if self.manifest:  # the policy is global: set it for this adapter's precision each build
            precision.apply_policy(self.manifest["precision"])
        model = importlib.import_module(f"models.keras.{spec.name}").build(spec, weights)
        named = list(layout.canonical_variables(model, trainable_only=True).items())
        opt = optim.make(recipe, named, lr, stock=stock_optimizer)
        if self.manifest:  # fp16: dynamic loss scaling around the optimizer, as Keras users do
            opt = precision.wrap_optimizer(opt, self.manifest["precision"])
        model.compile(optimizer=opt, loss=losses.for_recipe(recipe.label_smoothing))
        mode = _compile_mode(self.backend, bool(model.jit_compile))
        if self.manifest and mode != self.manifest["compile"]:
            self.manifest["notes"].append(f"{spec.name}: Keras chose {mode!r} for this model")
        return model

    def train_round(
        self, model: Any, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """One optimizer step per batch, each timed with a device sync: the latency steps, the
        same step code as :meth:`train_window`'s (see models/keras/timing.py), not ``fit``."""
        from models.keras.timing import train_round

        seconds, losses = train_round(model, x, y)
        return seconds, losses.astype(np.float32)

    def loop_window(
        self, model: Any, x_train: np.ndarray, y_train: np.ndarray, idx: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """The loop scope: one ``fit`` over a tf.data/PyDataset source of the window's batches
        (see :mod:`models.keras.loop`)."""
        from models.keras import loop

        self.loop_pipeline = loop.pipeline(self.backend)
        return loop.loop_window(model, self.backend, x_train, y_train, idx)

    def train_window(self, model: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Consecutive steps of :meth:`train_round`'s step on staged batches, one device sync at
        the end: the scope of torch's and tf's windows (see models/keras/timing.py)."""
        from models.keras.timing import train_window

        seconds, losses = train_window(model, x, y)
        return seconds, losses.astype(np.float32)

    def evaluate(
        self, model: Any, x: np.ndarray, y: np.ndarray, batch_size: int
    ) -> tuple[float, float]:
        """(mean test loss, accuracy). A language model's (N, T) labels count every position
        as one prediction: mean cross-entropy in nats per token, per-token accuracy."""
        total, correct = 0.0, 0
        for start in range(0, len(x), batch_size):  # chunks: an LM's logits are (N, T, V)
            xb = x[start : start + batch_size]
            logits = np.asarray(model.predict(xb, batch_size=batch_size, verbose=0), np.float64)
            logits = logits.reshape(-1, logits.shape[-1])
            yb = np.asarray(y[start : start + batch_size]).reshape(-1)
            shifted = logits - logits.max(axis=1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            total += float(-log_probs[np.arange(len(yb)), yb].sum())
            correct += int((logits.argmax(axis=1) == yb).sum())
        n = max(np.asarray(y).size, 1)
        return total / n, correct / n

    def predict_round(self, model: Any, x: np.ndarray) -> np.ndarray:
        import keras

        batches = [keras.ops.convert_to_tensor(xb) for xb in x]
        from models.keras.timing import sync_function

        sync = sync_function()
        seconds = np.zeros(len(batches))
        for i, xb in enumerate(batches):
            t0 = time.perf_counter()
            model.predict_on_batch(xb)  # compiled like fit's step; returns NumPy (a host sync)
            sync()
            seconds[i] = time.perf_counter() - t0
        return seconds

    def logits(self, model: Any, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Inference mode by default; ``training=True``: batch statistics, BatchNorm's running
        statistics updated (parity tests)."""
        import keras

        with _no_grad(self.backend):
            out = model(keras.ops.convert_to_tensor(x), training=training)
        return np.asarray(keras.ops.convert_to_numpy(out), dtype=np.float32)

    def loss_and_gradients(
        self, model: Any, x: np.ndarray, y: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray]]:
        import keras

        from models.keras import grads, layout

        variables = layout.canonical_variables(model, trainable_only=True)
        xt, yt = keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y)
        loss_fn = model.loss or self.loss  # the compiled (training) loss, smoothing included
        loss, g = grads.loss_and_gradients(model, loss_fn, list(variables.values()), xt, yt)
        return loss, {n: layout.to_canonical(n, v) for n, v in zip(variables, g, strict=True)}

    def get_weights(self, model: Any) -> dict[str, np.ndarray]:
        from models.keras import layout

        return layout.read(model)

    # -- memory --------------------------------------------------------------------------------

    def peak_device_memory(self) -> int | None:
        from models.keras import settings as backend_settings

        return backend_settings.peak_device_memory(self.backend)

    def reset_peak_device_memory(self) -> None:
        from models.keras import settings as backend_settings

        backend_settings.reset_peak_device_memory(self.backend)


def _compile_mode(backend: str, jit: bool) -> str:
    return {
        "tensorflow": ("tf.function", "xla"),
        "torch": ("eager", "torch.compile"),
        "jax": ("eager", "jax.jit"),
    }[backend][jit]


class _no_grad:
    """torch.no_grad on the torch backend; nothing elsewhere (no tape is recording)."""

    def __init__(self, backend: str) -> None:
        self.context: Any = None
        if backend == "torch":
            import torch

            self.context = torch.no_grad()

    def __enter__(self) -> None:
        if self.context is not None:
            self.context.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self.context is not None:
            self.context.__exit__(*exc)
