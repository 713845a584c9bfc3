"""Mixed precision the way torch users write it: ``torch.autocast`` around the forward pass and
the loss, float32 parameters (master weights) updated by the optimizer, and for fp16 a
``torch.amp.GradScaler`` (dynamic loss scaling) around backward and the step.

Autocast picks each op's dtype from its own lists (matmuls and convolutions in the low dtype;
on CPU, ``cross_entropy``/``nll_loss`` in float32); ops on neither list run in their input's
dtype, so on CPU a batch norm, layer norm or softmax fed bf16 returns bf16. :func:`probe_dtypes`
records what each op kind returned, for the fairness manifest.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from bench.zoo import precision as names

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype of ``precision``, None for float32 compute (fp32, tf32)."""
    return DTYPES.get(names.canonical(precision))


def autocast(device: torch.device, dtype: torch.dtype | None) -> Any:
    """``torch.autocast`` for ``dtype`` on ``device``; a no-op context for float32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@functools.cache
def recurrent_refusal(device_type: str, precision: str) -> str | None:
    """Why ``nn.LSTM`` cannot run under this autocast here, or None: a tiny LSTM is tried once.

    On a CPU autocast casts the LSTM to fp16 and hands it to oneDNN, which on CPUs without
    AVX512-FP16 has no fp16 LSTM primitive ("could not create a primitive descriptor"): a one-line
    refusal at build beats a traceback in the first step. bf16 runs."""
    dtype = autocast_dtype(precision)
    if dtype is None:
        return None
    device = torch.device(device_type)
    lstm = nn.LSTM(2, 2, batch_first=True).to(device)
    try:
        with autocast(device, dtype):
            lstm(torch.zeros(1, 2, 2, device=device))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (f"torch {precision}: nn.LSTM under {dtype} autocast fails on this "
                f"{device_type} ({first.split('. ')[0]})")  # fmt: skip
    return None


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler | None:
    """fp16's dynamic loss scaler (torch's defaults: 2^16, ×2 every 2000 good steps)."""
    if not names.loss_scaling(precision):
        return None
    return torch.amp.GradScaler(device.type)


def probe_dtypes(device: torch.device, dtype: torch.dtype | None) -> dict[str, str]:
    """The dtype each op kind returns under this autocast, from float32 inputs and float32
    parameters: one small forward and backward through dense, conv, batch norm, layer norm,
    softmax and the loss, recorded with forward hooks and read back from the gradients."""
    torch.manual_seed(0)
    layers = nn.ModuleDict(
        {
            "dense": nn.Linear(4, 4),
            "conv": nn.Conv2d(4, 4, 3, padding=1),
            "batchnorm": nn.BatchNorm2d(4),
            "layernorm": nn.LayerNorm(4),
        }
    ).to(device)
    seen: dict[str, str] = {}
    for name, layer in layers.items():
        layer.register_forward_hook(
            lambda _m, _i, out, name=name: seen.__setitem__(name, str(out.dtype).split(".")[-1])
        )
    x = torch.randn(2, 4, 3, 3, device=device)
    with autocast(device, dtype):
        h = layers["batchnorm"](layers["conv"](x))
        h = layers["layernorm"](h.permute(0, 2, 3, 1)).mean((1, 2))
        logits = layers["dense"](h)
        probs = torch.softmax(logits, -1)
        loss = F.cross_entropy(logits, torch.zeros(2, dtype=torch.long, device=device))
    seen["softmax"] = str(probs.dtype).split(".")[-1]
    seen["loss"] = str(loss.dtype).split(".")[-1]
    loss.backward()
    weight = layers["dense"].weight
    seen["weights"] = str(weight.dtype).split(".")[-1]
    seen["gradients"] = str(weight.grad.dtype).split(".")[-1] if weight.grad is not None else "-"
    return seen
