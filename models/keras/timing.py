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
    """(seconds, Keras's running mean loss after each step) of consecutive optimizer steps.

    The timed scope is torch's and tf's step scope: an optimizer step on a batch already
    staged as a backend tensor. The step is ``model.train_function``, the compiled train step
    that ``fit`` and ``train_on_batch`` call once per batch (``train_on_batch`` is exactly
    this plus a host copy of the logs per step, which a window must not force). The loss
    tracker is reset first, so the k-th logged loss is the mean of the window's first k.
    The jax backend keeps its state outside the model between calls, so there the window is
    ``train_on_batch`` per step (its host copy included).
    """
    backend = keras.backend.backend()
    xs = [keras.ops.convert_to_tensor(xb) for xb in x]
    ys = [keras.ops.convert_to_tensor(yb) for yb in y]
    sync = sync_function()
    model.make_train_function()
    model.reset_metrics()
    logs: list[Any] = []
    sync()
    t0 = time.perf_counter()
    if backend == "jax":
        for xb, yb in zip(xs, ys, strict=True):
            logs.append(model.train_on_batch(xb, yb, return_dict=True)["loss"])
    else:
        step = model.train_function
        for xb, yb in zip(xs, ys, strict=True):
            logs.append(step([(xb, yb, None)])["loss"])
    if logs:
        keras.ops.convert_to_numpy(logs[-1])  # the window's one host sync, as a loop's end has
    sync()
    seconds = time.perf_counter() - t0
    values = np.array([float(keras.ops.convert_to_numpy(v)) for v in logs], dtype=np.float64)
    if backend == "jax":  # train_on_batch resets the tracker each step: make it a running mean
        values = np.cumsum(values) / np.arange(1, len(values) + 1)
    return seconds, values
