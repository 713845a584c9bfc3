"""The *loop* scope for Keras: what a Keras user pays per step — one ``model.fit`` call over
the window, its batches from a ``tf.data`` pipeline (TensorFlow backend) or a
``keras.utils.PyDataset`` (other backends), in the window's order.

Settings, each written out:

- one ``fit`` call per window (``epochs=1, shuffle=False, verbose=0``): its set-up (data
  adapter, callbacks, the compiled train function on first use) is paid once per window, as a
  user pays it once per ``fit``; the runner asks for one window per cell and pass;
- TensorFlow backend: the tf.data pipeline of :mod:`models.tf.loop` (vectorised gather per index
  batch, ``num_parallel_calls=AUTOTUNE``, ``deterministic=True``, ``prefetch(AUTOTUNE)``);
  other backends: a ``PyDataset`` returning ``x_train[idx[k]]`` (``workers=1``, no
  multiprocessing: the data is in memory);
- per-step losses through an ``async_safe`` callback, so Keras keeps its asynchronous batch-end
  dispatch (the host may run ahead, as in a user's ``fit`` without callbacks).
"""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np


class _Losses(keras.callbacks.Callback):
    """Keeps fit's running mean loss per batch without forcing a host sync each step."""

    async_safe = True

    def __init__(self, n: int) -> None:
        super().__init__()
        self.running = np.zeros(n)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.running[batch] = float(logs["loss"])


class _Batches(keras.utils.PyDataset):
    def __init__(self, x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        self.x, self.y, self.idx = x, y, idx

    def __len__(self) -> int:
        return len(self.idx)

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.x[self.idx[k]], self.y[self.idx[k]]


def pipeline(backend: str) -> dict[str, Any]:
    """Every setting of the Keras loop scope, for the manifest."""
    source: dict[str, Any]
    if backend == "tensorflow":
        from models.tf.loop import pipeline as tf_pipeline

        source = {k: v for k, v in tf_pipeline(False).items() if k not in ("sync", "device_copy")}
    else:
        source = {"kind": "keras.utils.PyDataset", "workers": 1, "use_multiprocessing": False}
    return {
        "kind": "model.fit, one call per window (epochs=1, shuffle=False, verbose=0)",
        "source": source,
        "callbacks": "one async_safe loss logger (Keras keeps asynchronous dispatch)",
        "sync": "fit returns when the window is done",
    }


def loop_window(
    model: Any, backend: str, x_train: np.ndarray, y_train: np.ndarray, idx: np.ndarray
) -> tuple[float, np.ndarray]:
    """One ``fit`` over batches ``x_train[idx[k]]`` in order. Returns (seconds, losses)."""
    if backend == "tensorflow":
        from models.tf.loop import dataset

        source: Any = dataset(x_train, y_train, idx)
    else:
        source = _Batches(x_train, y_train.astype(np.int64), np.asarray(idx))
    log = _Losses(len(idx))
    t0 = time.perf_counter()
    model.fit(source, epochs=1, shuffle=False, verbose=0, callbacks=[log])
    seconds = time.perf_counter() - t0
    k = np.arange(1, len(idx) + 1, dtype=np.float64)
    return seconds, np.diff(k * log.running, prepend=0.0).astype(np.float32)
