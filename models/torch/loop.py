"""The *loop* scope for torch: what a PyTorch user's training loop pays per step, its input
pipeline included — a ``torch.utils.data.DataLoader`` over the NumPy arrays.

Settings, each written out because each changes small-model figures several-fold:

- a ``TensorDataset`` over the whole arrays (``torch.from_numpy``: no copy) and the window's index
  batches as the sampler with ``batch_size=None`` (automatic batching off): each batch is one
  fancy-index of the tensors, not a per-sample ``__getitem__`` plus ``default_collate`` of 100
  tensors, which is what ``DataLoader(dataset, batch_size=B)`` would do;
- ``num_workers=0``: the data is in memory, so a worker process would only add IPC per batch
  (the DataLoader docs' guidance for in-memory tensors); the main process loads the batch;
- ``pin_memory`` only on CUDA, with ``non_blocking=True`` copies (pinning helps only host→device
  transfers).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

# the cell's dataset, built once per cell (set-up a user pays once), keyed by the arrays
_dataset: dict[str, Any] = {"key": None, "value": None}


def pipeline(device: torch.device) -> dict[str, Any]:
    """Every DataLoader setting the loop scope uses, for the manifest."""
    return {
        "kind": "torch.utils.data.DataLoader",
        "dataset": "TensorDataset over the NumPy arrays (torch.from_numpy, no copy)",
        "sampler": "the window's index batches, batch_size=None (one fancy-index per batch, "
        "no per-sample collate)",
        "num_workers": 0,
        "pin_memory": device.type == "cuda",
        "non_blocking_copy": device.type == "cuda",
        "sync": "one device sync at the end of the window",
    }


def _tensor_dataset(x_train: np.ndarray, y_train: np.ndarray) -> TensorDataset:
    key = (id(x_train), id(y_train), x_train.shape, y_train.shape)
    if _dataset["key"] != key:
        tokens = np.issubdtype(x_train.dtype, np.integer)  # token ids stay integers
        x = torch.from_numpy(np.ascontiguousarray(x_train, np.int64 if tokens else np.float32))
        y = torch.from_numpy(np.ascontiguousarray(y_train, dtype=np.int64))
        _dataset["key"], _dataset["value"] = key, TensorDataset(x, y)
    return _dataset["value"]


def loop_window(
    model: Any, device: torch.device, x_train: np.ndarray, y_train: np.ndarray, idx: np.ndarray
) -> tuple[float, np.ndarray]:
    """Train on batches ``x_train[idx[k]]``, k = 0.. in order, through a DataLoader; one device
    sync at the end. Returns (seconds, per-step losses)."""
    cuda = device.type == "cuda"
    loader = DataLoader(
        _tensor_dataset(x_train, y_train),
        sampler=[np.asarray(b, dtype=np.int64) for b in idx],
        batch_size=None,
        num_workers=0,
        pin_memory=cuda,
    )
    lrs = model.lrs(len(idx))
    model.module.train()
    losses: list[torch.Tensor] = []
    if cuda:
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for i, (xb, yb) in enumerate(loader):
        xb = xb.to(device, non_blocking=cuda)
        yb = yb.to(device, non_blocking=cuda)
        losses.append(model.train_step(xb, yb, lrs[i]))  # the step scope's own step
    if cuda:
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    model.step += len(idx)
    if not losses:
        return seconds, np.empty(0, np.float32)
    return seconds, torch.stack(losses).cpu().numpy().astype(np.float32)
