"""Canonical weight names ↔ Keras variables.

The canonical layout (see bench.architectures) is Keras's own: Dense (in, out), Conv HWIO,
GRU kernel (in, 3H) / recurrent_kernel (H, 3H) / bias (2, 3H) in gate order (z, r, h) with
``reset_after=True``, BatchNorm gamma/beta/moving_mean/moving_variance. So moving weights is
a lookup by layer name, never a transpose.
"""

from __future__ import annotations

import keras
import numpy as np


def canonical_variables(
    model: keras.Model, trainable_only: bool = False
) -> dict[str, keras.Variable]:
    """Canonical name → the Keras variable holding it, in forward order; BatchNorm running
    statistics (state) too unless ``trainable_only``."""
    out: dict[str, keras.Variable] = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            pairs = (("forward", layer.forward_layer), ("backward", layer.backward_layer))
            for direction, sub in pairs:
                cell = sub.cell
                out[f"{layer.name}.{direction}.kernel"] = cell.kernel
                out[f"{layer.name}.{direction}.recurrent_kernel"] = cell.recurrent_kernel
                out[f"{layer.name}.{direction}.bias"] = cell.bias
        elif isinstance(layer, keras.layers.GRU):
            out[f"{layer.name}.forward.kernel"] = layer.cell.kernel
            out[f"{layer.name}.forward.recurrent_kernel"] = layer.cell.recurrent_kernel
            out[f"{layer.name}.forward.bias"] = layer.cell.bias
        elif isinstance(layer, keras.layers.LSTM):  # unidirectional: no direction in the name
            for attr in ("kernel", "recurrent_kernel", "bias"):
                out[f"{layer.name}.{attr}"] = getattr(layer.cell, attr)
        elif isinstance(layer, keras.layers.BatchNormalization):
            out[f"{layer.name}.gamma"] = layer.gamma
            out[f"{layer.name}.beta"] = layer.beta
            if not trainable_only:
                out[f"{layer.name}.moving_mean"] = layer.moving_mean
                out[f"{layer.name}.moving_variance"] = layer.moving_variance
        elif getattr(layer, "kernel", None) is not None:
            out[f"{layer.name}.kernel"] = layer.kernel
            if layer.bias is not None:  # convs before BatchNorm have none
                out[f"{layer.name}.bias"] = layer.bias
    return out


def load(model: keras.Model, weights: dict[str, np.ndarray]) -> keras.Model:
    """Assign canonical ``weights`` to ``model``; every weight must be named exactly once."""
    variables = canonical_variables(model)
    if set(variables) != set(weights):
        raise ValueError(f"weight names differ: model {sorted(variables)}, given {sorted(weights)}")
    for name, variable in variables.items():
        if tuple(variable.shape) != weights[name].shape:
            raise ValueError(f"{name}: model shape {variable.shape}, given {weights[name].shape}")
        variable.assign(np.asarray(weights[name], dtype=np.float32))
    return model


def read(model: keras.Model) -> dict[str, np.ndarray]:
    """Current weights by canonical name, as float32 NumPy copies."""
    return {
        name: np.array(keras.ops.convert_to_numpy(v.value), dtype=np.float32)
        for name, v in canonical_variables(model).items()
    }
