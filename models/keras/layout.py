"""Canonical weight names ↔ Keras variables.

The canonical layout (see bench.catalog.architectures) is Keras's own: Dense (in, out), Conv HWIO,
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
        sequence = sequence_variables(layer)  # Embedding, LayerNormalization, attention
        if sequence is not None:
            out.update(sequence)
        elif isinstance(layer, keras.layers.Bidirectional):
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
        if canonical_shape(name, tuple(variable.shape)) != weights[name].shape:
            raise ValueError(f"{name}: model shape {variable.shape}, given {weights[name].shape}")
        value = np.asarray(weights[name], dtype=np.float32).reshape(variable.shape)
        variable.assign(value)
    return model


def read(model: keras.Model) -> dict[str, np.ndarray]:
    """Current weights by canonical name, as float32 NumPy copies."""
    return {
        name: to_canonical(name, keras.ops.convert_to_numpy(v.value))
        for name, v in canonical_variables(model).items()
    }


# -- sequence layers (issue 10) -------------------------------------------------------------------
#: Canonical attention projections; Keras's MultiHeadAttention keeps each per head.
_ATTENTION = (".query.", ".key.", ".value.", ".output.")


def sequence_variables(layer: keras.Layer) -> dict[str, keras.Variable] | None:
    """Canonical name → variable for keras.layers.Embedding (``embeddings``),
    LayerNormalization (``gamma``, ``beta``) and MultiHeadAttention (``query``, ``key``,
    ``value``, ``output`` kernels and biases); None for any other layer."""
    name = layer.name
    if isinstance(layer, keras.layers.Embedding):
        return {f"{name}.embeddings": layer.embeddings}
    if isinstance(layer, keras.layers.LayerNormalization):
        return {f"{name}.gamma": layer.gamma, f"{name}.beta": layer.beta}
    if isinstance(layer, keras.layers.MultiHeadAttention):
        parts = {
            "query": layer.query_dense,
            "key": layer.key_dense,
            "value": layer.value_dense,
            "output": layer.output_dense,
        }
        out: dict[str, keras.Variable] = {}
        for part, dense in parts.items():
            out[f"{name}.{part}.kernel"] = dense.kernel
            out[f"{name}.{part}.bias"] = dense.bias
        return out
    if hasattr(layer, "canonical_variables"):  # the suite's own layers (positional embedding)
        found: dict[str, keras.Variable] = layer.canonical_variables()
        return found
    return None


def canonical_shape(name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The canonical shape of a Keras variable: MultiHeadAttention's per-head kernels
    (d, heads, head_dim) and output kernel (heads, head_dim, d) are (d, d) canonically, its
    per-head biases (heads, head_dim) are (d,); head h is columns (rows, for the output)
    h·head_dim:(h+1)·head_dim, so the conversion is a row-major reshape. Others: as they are."""
    if not any(part in name for part in _ATTENTION) or len(shape) == 1:
        return shape
    if name.endswith(".bias"):
        return (int(np.prod(shape)),)
    if ".output." in name:
        return (int(np.prod(shape[:-1])), shape[-1])
    return (shape[0], int(np.prod(shape[1:])))


def to_canonical(name: str, value: np.ndarray) -> np.ndarray:
    """A variable's value (or gradient) in the canonical layout, as a float32 copy."""
    value = np.array(value, dtype=np.float32)
    return value.reshape(canonical_shape(name, value.shape))
