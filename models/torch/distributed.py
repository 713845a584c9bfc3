"""Data-parallel training on torch's own engine: ``torch.distributed`` + DistributedDataParallel.

Each rank is one process holding a full copy of the module; DDP all-reduces the gradients during
``backward`` and divides them by the world size (gradient *averaging*), so every rank applies the
same update and the copies stay identical. The collective backend is gloo on the CPU and NCCL on a
GPU, as torch's own documentation recommends.

BatchNorm: DDP's default ``broadcast_buffers=True`` copies rank 0's running statistics to every rank
at each forward, and each rank normalises its own slice of the batch (per-worker statistics, "ghost"
batch norm). ``SyncBatchNorm`` would normalise over the global batch but runs on CUDA only; on a GPU
run the models keep plain BatchNorm too, so CPU and GPU runs do the same arithmetic (say so in the
record: ``batchnorm`` below).

The rank driver (:mod:`bench.run.rank`) calls these functions; the adapter's own model,
optimizer and train step are reused unchanged (``TorchModel.forward`` becomes the DDP wrapper).
"""

from __future__ import annotations

import datetime
import os
import time
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from models.torch.adapter import TorchAdapter, TorchModel


def init(rank: int, world: int, address: str, ports: list[int], timeout_s: float) -> dict[str, Any]:
    """Join the process group (the rendezvous: a TCP store on ``address:ports[0]`` held by
    rank 0; the other ports are tf's)."""
    backend = "nccl" if torch.cuda.is_available() and torch.cuda.device_count() > 0 else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(rank % torch.cuda.device_count())
    under_torchrun = "TORCHELASTIC_RUN_ID" in os.environ  # its agent holds the store
    dist.init_process_group(
        backend,
        init_method="env://" if under_torchrun else f"tcp://{address}:{ports[0]}",
        rank=rank,
        world_size=world,
        timeout=datetime.timedelta(seconds=timeout_s),
    )
    return {
        "engine": "torch.distributed DistributedDataParallel",
        "collective_backend": dist.get_backend(),
        "batchnorm": "per-worker statistics, rank 0's running statistics broadcast (DDP "
        "broadcast_buffers); SyncBatchNorm not used (CUDA only)",
        "gradient_reduction": "mean (DDP divides the all-reduced sum by the world size)",
    }


def build(
    adapter: TorchAdapter,
    spec: Any,
    weights: dict[str, np.ndarray],
    recipe: Any,
    lr: np.ndarray,
) -> TorchModel:
    """The adapter's model, its forward replaced by the DDP wrapper of the same module."""
    model = adapter.build(spec, weights, recipe, lr)
    if dist.get_world_size() > 1:
        cuda = adapter.device.type == "cuda"
        device_ids = [torch.cuda.current_device()] if cuda else None  # init set it per rank
        model.forward = DistributedDataParallel(model.module, device_ids=device_ids)
    return model


def train_window(
    adapter: TorchAdapter, model: TorchModel, x: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """Consecutive steps on this rank's slices (the adapter's window: one sync at its end)."""
    return adapter.train_window(model, x, y)


def evaluate(
    adapter: TorchAdapter, model: TorchModel, x: np.ndarray, y: np.ndarray, batch_size: int
) -> tuple[float, float]:
    """Test loss and accuracy on this rank's copy, outside DDP (no collective in inference)."""
    wrapper, model.forward = model.forward, model.module
    try:
        return adapter.evaluate(model, x, y, batch_size)
    finally:
        model.forward = wrapper


def weights(adapter: TorchAdapter, model: TorchModel) -> dict[str, np.ndarray]:
    """This rank's canonical state (weights and BatchNorm running statistics)."""
    return adapter.get_weights(model)


def agree_mean(value: float) -> float:
    """The mean of ``value`` over the ranks (one scalar all-reduce), so every rank decides the
    same window sizes: a collective step count that differs between ranks would hang."""
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item()) / dist.get_world_size()


def allreduce_times(n_floats: int, repeats: int) -> list[float]:
    """Seconds of ``repeats`` all-reduces of a float32 buffer of ``n_floats`` (a gradient's size),
    each timed alone between barriers; the first two are dropped as warm-up."""
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    buf = torch.ones(max(n_floats, 1), dtype=torch.float32, device=device)
    times = []
    for i in range(repeats + 2):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(buf)
        if device == "cuda":
            torch.cuda.synchronize()
        if i >= 2:
            times.append(time.perf_counter() - t0)
        buf.fill_(1.0)
    return times


def shutdown() -> None:
    """A last barrier. The process group is not destroyed: the rank exits right after
    (``os._exit``), and destroying it under a live DDP reducer can block."""
    if dist.is_initialized():
        dist.barrier()
