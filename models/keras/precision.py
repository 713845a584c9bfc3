"""Mixed precision the way Keras users write it: a global dtype policy (``mixed_bfloat16`` /
``mixed_float16``: float32 variables, layers computing in the low dtype) set before the model is
built, and for fp16 ``keras.optimizers.LossScaleOptimizer`` around the optimizer (dynamic loss
scaling; ``fit`` scales the loss when it sees one). The same on every Keras backend.

Keras keeps some computations in float32 on purpose (its normalisation layers upcast their
inputs; losses compute in float32): :func:`probe_dtypes` records what each op kind returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.zoo import precision as names

POLICIES = {"fp32": "float32", "tf32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def apply_policy(precision: str) -> str:
    """Set Keras's global dtype policy for ``precision``; returns the policy's name."""
    import keras

    policy = POLICIES[names.canonical(precision)]
    keras.mixed_precision.set_dtype_policy(policy)
    return policy


def wrap_optimizer(optimizer: Any, precision: str) -> Any:
    """fp16: the optimizer inside a LossScaleOptimizer (Keras's default dynamic scaling)."""
    import keras

    if names.loss_scaling(precision):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def probe_dtypes() -> dict[str, str]:
    """The dtype each op kind returns under the policy in force, from float32 inputs: dense,
    conv, batch norm, layer norm, softmax, the loss, the variables and their gradients' dtype
    (Keras differentiates with respect to the float32 variables)."""
    import keras

    x = keras.ops.convert_to_tensor(np.random.default_rng(0).normal(size=(2, 3, 3, 4)), "float32")
    conv = keras.layers.Conv2D(4, 3, padding="same")
    bn = keras.layers.BatchNormalization()
    ln = keras.layers.LayerNormalization()
    dense = keras.layers.Dense(4)
    softmax = keras.layers.Softmax()
    seen: dict[str, str] = {}
    h = conv(x)
    seen["conv"] = str(h.dtype)
    h = bn(h, training=True)
    seen["batchnorm"] = str(bn.compute_dtype) + _internal(bn, h)
    h = ln(h)
    seen["layernorm"] = str(ln.compute_dtype) + _internal(ln, h)
    logits = dense(keras.ops.mean(h, axis=(1, 2)))
    seen["dense"] = str(logits.dtype)
    seen["softmax"] = str(softmax(logits).dtype)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        keras.ops.zeros((2,), "int32"), logits
    )
    seen["loss"] = str(loss.dtype)
    seen["weights"] = str(dense.kernel.dtype)
    seen["gradients"] = str(dense.kernel.dtype)  # gradients take the variables' dtype
    return {k: _short(v) for k, v in seen.items()}


def _internal(layer: Any, out: Any) -> str:
    """Keras's normalisation layers compute in float32 and cast back (batch_normalization.py
    upcasts its inputs; ops.layer_norm computes in at least float32): say so when they do."""
    if str(out.dtype) != "float32":
        return " (out); computed in float32"
    return ""


def _short(text: str) -> str:
    return text.replace("<dtype: '", "").replace("'>", "").replace("torch.", "")
