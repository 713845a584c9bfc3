"""The per-step timing callback for ``model.fit`` and the device synchronization it needs."""

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
