"""The pre-LN Transformer block in torch (bench/zoo/transformer_family.py), shared by the
`transformer` and `gpt` models: nn.LayerNorm, nn.MultiheadAttention (fused in_proj_weight, its
SDPA kernels), nn.Linear and exact GELU (``F.gelu``'s default), nn.Dropout."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bench.zoo.layers import LN_EPSILON, PAD_ID
from bench.zoo.transformer_family import Config
from models.torch import layout


class Block(nn.Module):
    def __init__(self, c: Config) -> None:
        super().__init__()
        d = c.dim
        self.ln1 = nn.LayerNorm(d, eps=LN_EPSILON)
        self.attention = nn.MultiheadAttention(d, c.heads, dropout=c.dropout, batch_first=True)
        self.dropout1 = nn.Dropout(c.dropout)
        self.ln2 = nn.LayerNorm(d, eps=LN_EPSILON)
        self.mlp_fc = nn.Linear(d, c.mlp)
        self.mlp_proj = nn.Linear(c.mlp, d)
        self.dropout2 = nn.Dropout(c.dropout)

    def forward(
        self, x: torch.Tensor, padding: torch.Tensor | None, causal: torch.Tensor | None
    ) -> torch.Tensor:
        """``padding``: (N, T) True at padded keys; ``causal``: (T, T) True above the diagonal
        (nn.MultiheadAttention's boolean masks say where attention is *not* allowed)."""
        h = self.ln1(x)
        a, _ = self.attention(
            h, h, h, key_padding_mask=padding, attn_mask=causal, need_weights=False,
            is_causal=causal is not None,
        )  # fmt: skip
        x = x + self.dropout1(a)
        return x + self.dropout2(self.mlp_proj(F.gelu(self.mlp_fc(self.ln2(x)))))

    def bindings(self, name: str) -> list[layout.Binding]:
        return (
            layout.layernorm(f"{name}_ln1", self.ln1)
            + layout.attention(f"{name}_attention", self.attention)
            + layout.layernorm(f"{name}_ln2", self.ln2)
            + layout.dense(f"{name}_mlp_fc", self.mlp_fc)
            + layout.dense(f"{name}_mlp_proj", self.mlp_proj)
        )


class Stack(nn.Module):
    """``c.layers`` blocks; canonical names ``block<i>_*``."""

    def __init__(self, c: Config) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))

    def forward(
        self, x: torch.Tensor, padding: torch.Tensor | None, causal: torch.Tensor | None
    ) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, padding, causal)
        return x

    def bindings(self) -> list[layout.Binding]:
        return [b for i, blk in enumerate(self.blocks) for b in blk.bindings(f"block{i}")]


def padding_mask(tokens: torch.Tensor) -> torch.Tensor:
    """(N, T) True at padded positions (token id :data:`~bench.zoo.layers.PAD_ID`)."""
    return tokens == PAD_ID


def causal_mask(steps: int, device: torch.device) -> torch.Tensor:
    """(T, T) True where query i would see key j > i (masked out)."""
    return torch.ones(steps, steps, dtype=torch.bool, device=device).triu(1)
