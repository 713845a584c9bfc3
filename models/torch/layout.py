"""Canonical (TF/Keras-like) weight layout ↔ torch parameters, for every layer kind.

Each architecture file lists :class:`Binding` objects: one per canonical weight name, saying
which torch parameter(s) hold it and how to convert both ways. Loading weights, exporting them
and exporting gradients all go through the same bindings, so the conversion is written once.
All conversions are linear re-indexings (transpose, permute, reorder), so gradients convert with
the same function as weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

ToTorch = Callable[[np.ndarray], tuple[np.ndarray, ...]]
FromTorch = Callable[[Sequence[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class Binding:
    """Canonical weight ``name`` is stored in the torch ``params`` (or buffers, for state)."""

    name: str
    params: tuple[torch.Tensor, ...]
    to_torch: ToTorch
    from_torch: FromTorch
    #: Canonical state (BatchNorm running statistics, torch buffers): no gradient, no optimizer.
    state: bool = False
    #: Rows of a fused parameter that hold this weight (torch's in_proj_weight packs query, key
    #: and value); None: the whole parameter.
    rows: slice | None = None


def load(bindings: Sequence[Binding], weights: dict[str, np.ndarray]) -> None:
    """Copy canonical ``weights`` into the bound parameters (shapes are checked by copy_)."""
    names = {b.name for b in bindings}
    if names != set(weights):
        raise ValueError(f"weights {sorted(weights)} do not match the model's {sorted(names)}")
    with torch.no_grad():
        for b in bindings:
            for p, value in zip(b.params, b.to_torch(weights[b.name]), strict=True):
                p = p if b.rows is None else p[b.rows]
                if tuple(p.shape) != value.shape:
                    raise ValueError(f"{b.name}: torch wants {tuple(p.shape)}, got {value.shape}")
                p.copy_(torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)))


def export(bindings: Sequence[Binding], grads: bool = False) -> dict[str, np.ndarray]:
    """Parameters and state (or the parameters' ``.grad``) by canonical name and layout, as
    float32 NumPy."""
    out: dict[str, np.ndarray] = {}
    for b in bindings:
        if grads and b.state:
            continue
        tensors = [p.grad if grads else p for p in b.params]
        if any(t is None for t in tensors):
            raise RuntimeError(f"{b.name} has no gradient")
        arrays = [t.detach().cpu().numpy() for t in tensors if t is not None]
        arrays = arrays if b.rows is None else [a[b.rows] for a in arrays]
        out[b.name] = np.ascontiguousarray(b.from_torch(arrays), dtype=np.float32)
    return out


def dense(name: str, linear: nn.Linear) -> list[Binding]:
    """Dense kernel (in, out) ↔ Linear weight (out, in); bias as is."""
    return [
        Binding(f"{name}.kernel", (linear.weight,), lambda k: (k.T,), lambda t: t[0].T),
        Binding(f"{name}.bias", (linear.bias,), lambda b: (b,), lambda t: t[0]),
    ]


def dense_after_conv(name: str, linear: nn.Linear, flat: tuple[int, ...]) -> list[Binding]:
    """Like :func:`dense`, with the input rows permuted between flatten orders.

    ``flat`` is the conv output (spatial..., C). Canonical rows run channels-last (position-major,
    channel-minor); torch flattens (N, C, spatial...) channel-major. Permuting the weights once is
    free at run time, unlike transposing the activations every step.
    """
    *spatial, channels = flat
    nsp = len(spatial)

    def to_torch(k: np.ndarray) -> tuple[np.ndarray, ...]:
        out = k.shape[1]
        k = k.reshape(*spatial, channels, out)
        k = np.moveaxis(k, nsp, 0)  # (C, spatial..., out)
        return (k.reshape(-1, out).T,)

    def from_torch(t: Sequence[np.ndarray]) -> np.ndarray:
        w = t[0]
        out = w.shape[0]
        k = w.T.reshape(channels, *spatial, out)
        k = np.moveaxis(k, 0, nsp)  # (spatial..., C, out)
        return k.reshape(-1, out)

    return [
        Binding(f"{name}.kernel", (linear.weight,), to_torch, from_torch),
        Binding(f"{name}.bias", (linear.bias,), lambda b: (b,), lambda t: t[0]),
    ]


def conv(name: str, module: nn.Conv1d | nn.Conv2d) -> list[Binding]:
    """Conv kernel (k..., c_in, c_out) ↔ torch (c_out, c_in, k...); the bias if it has one."""
    nd = module.weight.dim() - 2
    to_axes = (nd + 1, nd, *range(nd))  # canonical axes in torch order
    from_axes = tuple(np.argsort(to_axes))
    return [
        Binding(
            f"{name}.kernel",
            (module.weight,),
            lambda k: (k.transpose(to_axes),),
            lambda t: t[0].transpose(from_axes),
        ),
    ] + ([Binding(f"{name}.bias", (module.bias,), same, first)] if module.bias is not None else [])


def same(a: np.ndarray) -> tuple[np.ndarray, ...]:
    return (a,)


def first(t: Sequence[np.ndarray]) -> np.ndarray:
    return t[0]


def batchnorm(name: str, module: nn.BatchNorm1d | nn.BatchNorm2d) -> list[Binding]:
    """gamma/beta ↔ weight/bias; moving_mean/moving_variance ↔ the running_mean/running_var
    buffers (state)."""
    return [
        Binding(f"{name}.gamma", (module.weight,), same, first),
        Binding(f"{name}.beta", (module.bias,), same, first),
        Binding(f"{name}.moving_mean", (module.running_mean,), same, first, state=True),
        Binding(f"{name}.moving_variance", (module.running_var,), same, first, state=True),
    ]


def _swap_zr(a: np.ndarray, axis: int) -> np.ndarray:
    """Canonical gates (z, r, n) ↔ torch (r, z, n) along ``axis``: swapping is its own inverse."""
    z, r, n = np.split(a, 3, axis=axis)
    return np.concatenate([r, z, n], axis=axis)


def gru(name: str, module: nn.GRU) -> list[Binding]:
    """One-layer (bi)directional nn.GRU ↔ canonical ``<name>.<direction>.*`` weights.

    kernel (in, 3H) → weight_ih (3H, in); recurrent_kernel (H, 3H) → weight_hh (3H, H); bias
    (2, 3H) → bias_ih (row 0) and bias_hh (row 1); gates reordered (z, r, n) → (r, z, n).
    """
    suffixes = {"forward": "_l0", "backward": "_l0_reverse"}
    if not module.bidirectional:
        suffixes.pop("backward")
    out: list[Binding] = []
    for direction, sfx in suffixes.items():
        p = f"{name}.{direction}"

        def get(attr: str, sfx: str = sfx) -> nn.Parameter:
            param: nn.Parameter = getattr(module, attr + sfx)
            return param

        out += [
            Binding(
                f"{p}.kernel",
                (get("weight_ih"),),
                lambda k: (_swap_zr(k, 1).T,),
                lambda t: _swap_zr(t[0].T, 1),
            ),
            Binding(
                f"{p}.recurrent_kernel",
                (get("weight_hh"),),
                lambda k: (_swap_zr(k, 1).T,),
                lambda t: _swap_zr(t[0].T, 1),
            ),
            Binding(
                f"{p}.bias",
                (get("bias_ih"), get("bias_hh")),
                lambda b: (_swap_zr(b[0], 0), _swap_zr(b[1], 0)),
                lambda t: np.stack([_swap_zr(t[0], 0), _swap_zr(t[1], 0)]),
            ),
        ]
    return out


class CanonicalModule(nn.Module):
    """An nn.Module that can say where each canonical weight lives (see :class:`Binding`)."""

    def bindings(self) -> list[Binding]:
        raise NotImplementedError


# -- sequence layers (issue 10) -------------------------------------------------------------------
def embedding(name: str, module: nn.Embedding) -> list[Binding]:
    """``<name>.embeddings`` (vocab, dim) is nn.Embedding's weight as it is."""
    return [Binding(f"{name}.embeddings", (module.weight,), same, first)]


def positional(name: str, table: nn.Parameter) -> list[Binding]:
    """A learned positional table (steps, dim), a plain parameter."""
    return [Binding(f"{name}.embeddings", (table,), same, first)]


def layernorm(name: str, module: nn.LayerNorm) -> list[Binding]:
    """gamma/beta ↔ nn.LayerNorm's weight/bias."""
    return [
        Binding(f"{name}.gamma", (module.weight,), same, first),
        Binding(f"{name}.beta", (module.bias,), same, first),
    ]


def attention(name: str, module: nn.MultiheadAttention) -> list[Binding]:
    """Canonical query/key/value kernels (d, d) ↔ rows 0:d, d:2d, 2d:3d of nn.MultiheadAttention's
    fused ``in_proj_weight`` (3d, d), transposed; biases ↔ the same rows of ``in_proj_bias``;
    output kernel ↔ ``out_proj.weight`` transposed. One fused parameter holds three canonical
    weights (each binding names its rows), so the optimizer sees one tensor, as a torch user's."""
    d = module.embed_dim
    out: list[Binding] = []
    for i, part in enumerate(("query", "key", "value")):
        rows = slice(i * d, (i + 1) * d)
        out += [
            Binding(f"{name}.{part}.kernel", (module.in_proj_weight,), lambda k: (k.T,),
                    lambda t: t[0].T, rows=rows),
            Binding(f"{name}.{part}.bias", (module.in_proj_bias,), same, first, rows=rows),
        ]  # fmt: skip
    return out + dense(f"{name}.output", module.out_proj)
