"""The *loop* scope for TensorFlow: what a TF user's training loop pays per step, its input
pipeline included — a ``tf.data`` pipeline over the NumPy arrays feeding the adapter's compiled
train step.

Settings (the tf.data performance guide's recommendations, each written out):

- the arrays become two constants once per cell (set-up a user pays once);
- ``Dataset.from_tensor_slices(index batches)`` then ``map(gather)``: one gather per batch (a
  vectorised map, as the guide recommends, not a per-example map followed by ``batch``), with
  ``num_parallel_calls=AUTOTUNE`` and ``deterministic=True`` so the order is the window's;
- ``prefetch(AUTOTUNE)``: the next batch is prepared while the current step runs.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import tensorflow as tf

_constants: dict[str, Any] = {"key": None, "value": None}


def pipeline(on_gpu: bool) -> dict[str, Any]:
    """Every tf.data setting the loop scope uses, for the manifest."""
    return {
        "kind": "tf.data",
        "source": "Dataset.from_tensor_slices(index batches) over constants of the arrays",
        "map": "tf.gather of each index batch (vectorised), num_parallel_calls=AUTOTUNE, "
        "deterministic=True",
        "prefetch": "AUTOTUNE",
        "device_copy": "by the train step's call" + (" (GPU)" if on_gpu else ""),
        "sync": "one device sync at the end of the window",
    }


def _arrays(x_train: np.ndarray, y_train: np.ndarray) -> tuple[tf.Tensor, tf.Tensor]:
    key = (id(x_train), id(y_train), x_train.shape, y_train.shape)
    if _constants["key"] != key:
        with tf.device("/CPU:0"):  # the input pipeline runs on the host
            tokens = np.issubdtype(x_train.dtype, np.integer)  # token ids stay integers
            x = tf.constant(x_train, tf.int32 if tokens else tf.float32)
            value = (x, tf.constant(y_train, tf.int64))
        _constants["key"], _constants["value"] = key, value
    return _constants["value"]


def dataset(x_train: np.ndarray, y_train: np.ndarray, idx: np.ndarray) -> tf.data.Dataset:
    """The window's batches ``(x_train[idx[k]], y_train[idx[k]])`` in order, prefetched."""
    x, y = _arrays(x_train, y_train)
    return (
        tf.data.Dataset.from_tensor_slices(np.asarray(idx, np.int64))
        .map(
            lambda i: (tf.gather(x, i), tf.gather(y, i)),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        .prefetch(tf.data.AUTOTUNE)
    )


def loop_window(
    model: Any, on_gpu: bool, x_train: np.ndarray, y_train: np.ndarray, idx: np.ndarray
) -> tuple[float, np.ndarray]:
    """Train on batches ``x_train[idx[k]]`` in order through tf.data; one device sync at the
    end. Returns (seconds, per-step losses)."""
    ds = dataset(x_train, y_train, idx)
    step = model.train_step(idx.shape[1])
    losses = []
    if on_gpu:
        tf.test.experimental.sync_devices()
    t0 = time.perf_counter()
    for xb, yb in ds:
        losses.append(step(xb, yb))
    if on_gpu:
        tf.test.experimental.sync_devices()
    seconds = time.perf_counter() - t0
    if not losses:
        return seconds, np.empty(0, np.float32)
    return seconds, tf.stack(losses).numpy().astype(np.float32)
