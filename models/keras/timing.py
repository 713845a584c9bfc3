"""The step scope of Keras's training: one per-backend step function, timed step by step
(``train_round``: the latency steps) or as one window (``train_window``: the throughput windows),
and the device synchronization both need. ``model.fit`` is timed in the loop scope
(:mod:`models.keras.loop`), not here."""

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


def step_function(model: Any) -> Callable[[Any, Any], Any]:
    """The backend's optimizer step on one staged batch, returning what it logs as the loss.

    The scope is torch's and tf's step: no data pipeline, no callbacks. On the tensorflow
    backend the step is the one of Keras's guide "Writing a training loop from scratch": a
    ``tf.function`` (the model's ``jit_compile``) around the model's call, ``compute_loss``,
    ``optimizer.scale_loss`` (a no-op unless the optimizer scales the loss), a GradientTape
    and ``optimizer.apply``. ``model.train_function`` (what
    ``fit`` and ``train_on_batch`` call) adds its loss tracker, metrics dict and distribution
    wrapper to every step: 13 % of the MNIST-1D MLP's step here (``benchmarks/overhead.py``).
    That cost is ``fit``'s, and is in the loop scope, which times ``fit``. The torch and jax
    backends keep their state in a different place per backend, so there the step is
    ``train_function`` (torch; its logged loss is the tracker's running mean since this call,
    see :func:`step_losses`) and ``train_on_batch`` (jax, its state outside the model between
    calls). The optimizer's step counter, hence the learning-rate table, carries across calls.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _guide_step(model)
    if backend == "jax":
        return lambda x, y: model.train_on_batch(x, y, return_dict=True)["loss"]
    model.make_train_function()
    model.reset_metrics()  # the running mean that step_losses undoes starts here
    model.train()  # torch modules in training mode, as fit sets them
    fit_step = model.train_function
    return lambda x, y: fit_step([(x, y, None)])["loss"]


def step_losses(logs: list[Any]) -> np.ndarray:
    """The loss of each step (float64) from the values one :func:`step_function` logged.

    The torch backend's ``train_function`` logs the loss tracker's running mean, so per-step
    losses are recovered as k·mean_k − (k−1)·mean_(k−1) in float64 (the error grows like
    k·ulp(mean): about 3e-5 after 250 steps at loss ≈ 2); the other backends log the step's own.
    """
    values = np.array([float(keras.ops.convert_to_numpy(v)) for v in logs], dtype=np.float64)
    if keras.backend.backend() == "torch":
        k = np.arange(1, len(values) + 1, dtype=np.float64)
        values = np.diff(k * values, prepend=0.0)
    return values


def train_round(model: Any, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(seconds of each step, the loss of each step): the latency steps.

    The steps of :func:`train_window` on the same staged batches, each timed on its own with
    ``perf_counter`` around the step and a device sync, losses kept as backend values until
    the round's end: what torch's and tf's ``train_round`` time.
    """
    xs, ys = _staged(x), _staged(y)
    step, sync = step_function(model), sync_function()
    seconds = np.empty(len(xs), dtype=np.float64)
    logs: list[Any] = []
    sync()
    for i, (xb, yb) in enumerate(zip(xs, ys, strict=True)):
        t0 = time.perf_counter()
        logs.append(step(xb, yb))
        sync()
        seconds[i] = time.perf_counter() - t0
    return seconds, step_losses(logs)


def train_window(model: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(seconds, the loss of each step) of consecutive :func:`step_function` steps on staged
    batches, one device sync and one host copy of the loss at the window's end (as a training
    loop's end has): the throughput windows."""
    xs, ys = _staged(x), _staged(y)
    step, sync = step_function(model), sync_function()
    logs: list[Any] = []
    sync()
    t0 = time.perf_counter()
    for xb, yb in zip(xs, ys, strict=True):
        logs.append(step(xb, yb))
    if logs:
        keras.ops.convert_to_numpy(logs[-1])
    sync()
    return time.perf_counter() - t0, step_losses(logs)


def _staged(batches: np.ndarray) -> list[Any]:
    """Each batch as a backend tensor, staged before any timing starts."""
    return [keras.ops.convert_to_tensor(b) for b in batches]


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
