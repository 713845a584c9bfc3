"""The pre-LN Transformer block the `transformer` and `gpt` models share (no ARCHITECTURE here).

One block, GPT-2's order (Radford et al. 2019; Xiong et al. 2020 "pre-LN"):
``x + Dropout(Attention(LN1(x)))`` then ``x + Dropout(W2 · GELU(W1 · LN2(x)))``. Pre-LN trains
without the post-LN warm-up sensitivity, which matters for a recipe shared by three frameworks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.zoo.layers import (
    GELU,
    INIT_STD,
    INPUT,
    Add,
    Dropout,
    Layer,
    LayerNorm,
    MultiHeadAttention,
    TokenDense,
)
from bench.zoo.specs import ModelSpec


@dataclass(frozen=True)
class Config:
    """A Transformer's sizes, read from a spec's params (defaults: a tiny model)."""

    layers: int
    dim: int
    heads: int
    mlp: int
    dropout: float
    steps: int

    @classmethod
    def of(cls, spec: ModelSpec) -> Config:
        p = spec.params
        dim = int(p.get("dim", 16))
        return cls(
            layers=int(p.get("layers", 2)),
            dim=dim,
            heads=int(p.get("heads", 2)),
            mlp=int(p.get("mlp", 4 * dim)),
            dropout=float(p.get("dropout", 0.0)),
            steps=int(spec.input_shape[0]),
        )


def blocks(
    table: list[Layer], previous: str, c: Config, causal: bool, padding: bool,
    residual_std: float = INIT_STD,
) -> str:  # fmt: skip
    """Append ``c.layers`` blocks reading ``previous``; returns the last block's output name.
    ``padding``: attention reads the token ids (the model input) to mask padded keys.
    ``residual_std``: init of the projections that write into the residual stream."""
    d, t = c.dim, c.steps
    for i in range(c.layers):
        p = f"block{i}"
        table += [
            LayerNorm(f"{p}_ln1", d, t, inputs=(previous,)),
            MultiHeadAttention(
                f"{p}_attention",
                d,
                c.heads,
                t,
                causal=causal,
                padding=padding,
                dropout=c.dropout,
                output_std=residual_std,
                inputs=(f"{p}_ln1", INPUT) if padding else (),
            ),
            Dropout(f"{p}_dropout1", c.dropout),
            Add(f"{p}_add1", (previous, f"{p}_dropout1"), d, (t,)),
            LayerNorm(f"{p}_ln2", d, t),
            TokenDense(f"{p}_mlp_fc", d, c.mlp, t),
            GELU(f"{p}_gelu"),
            TokenDense(f"{p}_mlp_proj", c.mlp, d, t, std=residual_std),
            Dropout(f"{p}_dropout2", c.dropout),
            Add(f"{p}_add2", (f"{p}_add1", f"{p}_dropout2"), d, (t,)),
        ]
        previous = f"{p}_add2"
    return previous


def gpt2_residual_std(layers: int) -> float:
    """GPT-2's init of the residual projections: 0.02 / sqrt(2 · layers) (two per block)."""
    return INIT_STD / math.sqrt(2 * layers)
