"""The training loss: softmax cross-entropy with optional label smoothing, torch's own.

``F.cross_entropy(label_smoothing=eps)`` is the suite's reference formula (docs/recipes.md):
loss = mean over the batch of −(1 − eps)·log p_y − eps·mean_k log p_k, i.e. the target
distribution (1 − eps)·onehot(y) + eps/K.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0
) -> torch.Tensor:
    """Mean cross-entropy of ``logits`` (N, K) against integer ``labels`` (N,); a language
    model's (N, T, V) logits and (N, T) labels are flattened: the mean over all N·T positions."""
    if logits.dim() > 2:
        logits, labels = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)
    return F.cross_entropy(logits, labels, label_smoothing=float(label_smoothing))
