"""The pre-LN Transformer block in torch (bench/zoo/transformer_family.py), shared by the
`transformer` and `gpt` models: nn.LayerNorm, nn.MultiheadAttention (fused in_proj_weight, its
SDPA kernels), nn.Linear and exact GELU (``F.gelu``'s default), nn.Dropout.

Dropout draws from torch's global RNG, which the adapter seeds from the run's seed at build. In
the shared-mask parity mode (bench/zoo/dropout.py) every dropout is :class:`SharedDropout`, and
attention is written out (:func:`attention_with_mask`): nn.MultiheadAttention's SDPA kernel
draws its own attention-dropout mask and takes none from outside."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bench.zoo import dropout as zoo_dropout
from bench.zoo.layers import LN_EPSILON, PAD_ID
from bench.zoo.transformer_family import Config
from models.torch import layout

#: Masked attention scores (as models/tf/sequence.py): a fully masked row stays finite.
MASKED = -1e9


class SharedDropout(nn.Module):
    """Multiplies by the shared NumPy mask of ``site`` for this training forward (parity mode);
    the identity in eval mode and at rate 0."""

    def __init__(self, rate: float, draws: zoo_dropout.Draws, site: str) -> None:
        super().__init__()
        self.rate, self.draws, self.site = rate, draws, site
        self.count = 0  # training forwards so far: the mask's step

    def mask(self, like: torch.Tensor) -> torch.Tensor:
        """The next step's mask, shaped and typed like ``like``."""
        m = self.draws.mask(self.site, self.count, tuple(like.shape), self.rate)
        self.count += 1
        return torch.from_numpy(m).to(like.device, like.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        return x * self.mask(x)


def dropout(rate: float, draws: zoo_dropout.Draws, site: str) -> nn.Module:
    """nn.Dropout, or the parity mode's :class:`SharedDropout` for the site named ``site``."""
    return SharedDropout(rate, draws, site) if draws.shared else nn.Dropout(rate)


def attention_with_mask(
    mha: nn.MultiheadAttention, h: torch.Tensor, padding: torch.Tensor | None,
    causal: torch.Tensor | None, keep: SharedDropout,
) -> torch.Tensor:  # fmt: skip
    """nn.MultiheadAttention's self-attention written out with its own weights, the shared
    mask on the attention probabilities (N, heads, T, T) as tf and Keras apply it."""
    n, t, d = h.shape
    heads = mha.num_heads
    qkv = F.linear(h, mha.in_proj_weight, mha.in_proj_bias).view(n, t, 3, heads, d // heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (N, heads, T, head_dim)
    scores = q @ k.transpose(-1, -2) * (d // heads) ** -0.5
    if causal is not None:
        scores = scores.masked_fill(causal, MASKED)
    if padding is not None:
        scores = scores.masked_fill(padding[:, None, None, :], MASKED)
    probs = torch.softmax(scores, dim=-1)
    out = (probs * keep.mask(probs)) @ v
    return mha.out_proj(out.transpose(1, 2).reshape(n, t, d))


class Block(nn.Module):
    def __init__(self, c: Config, draws: zoo_dropout.Draws, name: str) -> None:
        super().__init__()
        d = c.dim
        self.ln1 = nn.LayerNorm(d, eps=LN_EPSILON)
        self.attention = nn.MultiheadAttention(d, c.heads, dropout=c.dropout, batch_first=True)
        self.dropout1 = dropout(c.dropout, draws, f"{name}_dropout1")
        self.ln2 = nn.LayerNorm(d, eps=LN_EPSILON)
        self.mlp_fc = nn.Linear(d, c.mlp)
        self.mlp_proj = nn.Linear(c.mlp, d)
        self.dropout2 = dropout(c.dropout, draws, f"{name}_dropout2")
        #: The parity mode's attention-probability dropout (None: the SDPA kernel's own).
        self.shared_attention = (
            SharedDropout(c.dropout, draws, f"{name}_attention") if draws.shared else None
        )

    def forward(
        self, x: torch.Tensor, padding: torch.Tensor | None, causal: torch.Tensor | None
    ) -> torch.Tensor:
        """``padding``: (N, T) True at padded keys; ``causal``: (T, T) True above the diagonal
        (nn.MultiheadAttention's boolean masks say where attention is *not* allowed)."""
        h = self.ln1(x)
        shared = self.shared_attention
        if shared is not None and self.training and shared.rate > 0:
            a = attention_with_mask(self.attention, h, padding, causal, shared)
        else:
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

    def __init__(self, c: Config, draws: zoo_dropout.Draws) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(c, draws, f"block{i}") for i in range(c.layers))

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
