"""Loss and gradients without an update, for parity checks: the one backend-specific module.

Keras has no backend-neutral "gradient of this function" API, so each backend's own autodiff is
used here, and only here (training goes through ``model.fit``, which does the same internally).
"""

from __future__ import annotations

import keras
import numpy as np


def loss_and_gradients(
    model: keras.Model,
    loss_fn: keras.losses.Loss,
    variables: list[keras.Variable],
    x: np.ndarray,
    y: np.ndarray,
) -> tuple[float, list[np.ndarray]]:
    """``loss_fn(y, model(x))`` and its gradients with respect to ``variables``, as NumPy."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, [v.value for v in variables])
    elif backend == "torch":
        import torch

        loss = loss_fn(y, model(x, training=True))
        grads = list(torch.autograd.grad(loss, [v.value for v in variables]))
    elif backend == "jax":
        import jax

        trainable = model.trainable_variables
        position = {id(v): k for k, v in enumerate(trainable)}
        non_trainable = [v.value for v in model.non_trainable_variables]

        def objective(values: list) -> object:
            logits, _ = model.stateless_call(values, non_trainable, x, training=True)
            return loss_fn(y, logits)

        loss, all_grads = jax.value_and_grad(objective)([v.value for v in trainable])
        grads = [all_grads[position[id(v)]] for v in variables]
    else:
        raise RuntimeError(f"no gradient code for the Keras backend {backend!r}")
    as_np = keras.ops.convert_to_numpy
    return float(as_np(loss)), [np.asarray(as_np(g), dtype=np.float32) for g in grads]
