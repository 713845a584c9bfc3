"""The per-step timing callback for ``model.fit``, the window timing of Keras's compiled train
step, and the device synchronization both need."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np


def sync_function() -> Callable[[], None]:
    """Waits for the accelerator where the backend has a call for it; a no-op on the CPU."""
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return torch.cuda.synchronize
    elif backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_logical_devices("GPU"):
            return tf.test.experimental.sync_devices
    return lambda: None


class StepTimer(keras.callbacks.Callback):
    """Stamps ``perf_counter`` around each training step and keeps Keras's logged running loss.

    Defining ``on_train_batch_end`` makes Keras call it synchronously (no async dispatch), and
    Keras hands it the logs as Python floats: that host copy of the loss is part of every
    step of a Keras user's fit with a batch-end callback, and is timed here.
    """

    def __init__(self, n: int) -> None:
        super().__init__()
        self.begin = np.zeros(n)
        self.end = np.zeros(n)
        self.running_loss = np.zeros(n)
        self.sync = sync_function()

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self.begin[batch] = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.sync()
        self.end[batch] = time.perf_counter()
        self.running_loss[batch] = logs["loss"]


def train_window(model: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(seconds, the loss of each step) of consecutive optimizer steps on staged batches.

    The timed scope is torch's and tf's step scope: an optimizer step on a batch already
    staged as a backend tensor, one device sync at the window's end. On the tensorflow backend
    the step is the one of Keras's guide "Writing a training loop from scratch": a
    ``tf.function`` (the model's ``jit_compile``) around the model's call, ``compute_loss``,
    ``optimizer.scale_loss`` (a no-op unless the optimizer scales the loss), a GradientTape and
    ``optimizer.apply``. ``model.train_function`` (what ``fit`` and ``train_on_batch`` call)
    adds its loss tracker, metrics dict and distribution wrapper to every step: 13 % of the
    MNIST-1D MLP's step here (``benchmarks/overhead.py``). That cost is ``fit``'s, and is in the
    loop scope, which times ``fit``. The torch and jax backends keep their state in a
    different place per backend, so there the window is ``train_function`` (torch) and
    ``train_on_batch`` (jax, its state outside the model between calls) per step.
    """
    backend = keras.backend.backend()
    xs = [keras.ops.convert_to_tensor(xb) for xb in x]
    ys = [keras.ops.convert_to_tensor(yb) for yb in y]
    sync = sync_function()
    if backend == "tensorflow":
        step = _guide_step(model)
    else:
        model.make_train_function()
        model.reset_metrics()
    logs: list[Any] = []
    sync()
    t0 = time.perf_counter()
    if backend == "tensorflow":
        for xb, yb in zip(xs, ys, strict=True):
            logs.append(step(xb, yb))
    elif backend == "jax":
        for xb, yb in zip(xs, ys, strict=True):
            logs.append(model.train_on_batch(xb, yb, return_dict=True)["loss"])
    else:
        fit_step = model.train_function
        for xb, yb in zip(xs, ys, strict=True):
            logs.append(fit_step([(xb, yb, None)])["loss"])
    if logs:
        keras.ops.convert_to_numpy(logs[-1])  # the window's one host sync, as a loop's end has
    sync()
    seconds = time.perf_counter() - t0
    values = np.array([float(keras.ops.convert_to_numpy(v)) for v in logs], dtype=np.float64)
    if backend == "torch":  # train_function logs the tracker's running mean: undo it
        k = np.arange(1, len(values) + 1, dtype=np.float64)
        values = np.diff(k * values, prepend=0.0)
    return seconds, values


def _guide_step(model: Any) -> Callable[[Any, Any], Any]:
    """The tensorflow backend's custom train step, traced once per model and kept on it."""
    cached = getattr(model, "_bench_guide_step", None)
    if cached is not None:
        return cached
    import tensorflow as tf

    optimizer, weights = model.optimizer, model.trainable_weights

    def step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            scaled = optimizer.scale_loss(loss)
        optimizer.apply(tape.gradient(scaled, weights), weights)
        return loss

    compiled = tf.function(step, reduce_retracing=True, jit_compile=bool(model.jit_compile))
    model._bench_guide_step = compiled
    return compiled
