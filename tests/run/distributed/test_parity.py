"""Data-parallel parity: 2 workers with global batch B end where one process with batch B ends.

After k = 5 optimizer steps (momentum SGD with weight decay: unlike Adam, its update scales with
the gradient, so a summed instead of averaged gradient shows at once), every rank's weights
must equal the single-process weights within 1e-5 relative (per tensor, L2 norms). The single
process is the framework's own adapter in this process, not the distributed code with one
worker.

BatchNorm (torch): on the CPU each worker normalises its half of the batch (SyncBatchNorm is
CUDA-only) and DDP broadcasts rank 0's running statistics at every forward, so the reference is
"ghost" batch norm in one process: each half normalised apart, the loss the mean of the halves'
losses, the running statistics those of half 0 only.

Two loopback processes per test, each bounded by the launch timeout.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.catalog import weights
from bench.catalog.frameworks import get_variant
from bench.catalog.schedules import lr_table
from bench.run.adapter import load_adapter
from bench.run.distributed import rank_job
from bench.run.launch import launch
from bench.zoo import get as architecture
from bench.zoo.specs import Cell, ModelSpec, Recipe, Settings
from tests.conftest import requires

STEPS = 5
BATCH = 64
TIMEOUT = 240.0
CROSS_FRAMEWORK = 1e-4  # torch vs tf/Keras kernels after 5 steps: float32 round-off only
RECIPE = Recipe(optimizer="momentum", lr=0.05, batch_size=BATCH, steps=STEPS, weight_decay=1e-3)


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def run_two_workers(job: dict[str, Any], out: Path) -> list[dict[str, np.ndarray]]:
    job = {**job, "train_steps": STEPS, "eval_every": STEPS, "evaluate": False,
           "dump_weights": True}  # fmt: skip
    result = launch(job, 2, out, TIMEOUT)
    assert result.status == "ok", result.error
    assert [r["world"] for r in result.ranks] == [2, 2]
    return [dict(np.load(out / f"rank{k}.weights.npz")) for k in range(2)]


def single_process(framework: str, job: dict[str, Any]) -> dict[str, np.ndarray]:
    """One process, the whole global batch per step: the adapter as the runner uses it."""
    adapter = load_adapter(get_variant(framework))
    # 2 intra-op threads as every other in-process test: TF keeps the first setting of the
    # process, and a 1-thread configure here left later tf tests with the wrong gradients
    adapter.configure(Settings(threads=2, interop_threads=1))
    spec, recipe = ModelSpec.from_dict(job["spec"]), Recipe.from_dict(job["recipe"])
    model = adapter.build(spec, job["weights"], recipe, job["lr"])
    idx = job["order"][:STEPS]
    adapter.train_round(model, job["x_train"][idx], job["y_train"][idx])
    return adapter.get_weights(model)


@pytest.mark.slow
@pytest.mark.parametrize(
    "framework",
    [
        pytest.param("torch", marks=requires("torch")),
        pytest.param("tf", marks=requires("tensorflow")),
        pytest.param("keras", marks=requires("keras", "tensorflow")),
    ],
)
def test_two_workers_average_gradients(framework: str, tmp_path: Path) -> None:
    cell = Cell(framework, "mlp", "mnist1d", "quick", RECIPE)
    job = rank_job(cell, Settings(threads=1))
    assert job["order"].shape == (STEPS, BATCH)  # the global batch order, as one process's
    ranks = run_two_workers(job, tmp_path)
    reference = single_process(framework, job)
    initial = job["weights"]
    for name, want in reference.items():
        assert relative_error(want, initial[name]) > 1e-4, f"{name} did not train"
        for k, got in enumerate(ranks):
            err = relative_error(got[name], want)
            assert err <= 1e-5, f"rank {k} {name}: relative error {err:.2e}"


def ghost_batchnorm_reference(job: dict[str, Any]) -> dict[str, np.ndarray]:
    """torch, one process: each half of the global batch normalised apart, gradients of the
    mean of the halves' losses, running statistics updated by half 0 only (rank 0's, which
    DDP broadcasts)."""
    import torch

    adapter = load_adapter(get_variant("torch"))
    # 2 intra-op threads as every other in-process test: TF keeps the first setting of the
    # process, and a 1-thread configure here left later tf tests with the wrong gradients
    adapter.configure(Settings(threads=2, interop_threads=1))
    spec, recipe = ModelSpec.from_dict(job["spec"]), Recipe.from_dict(job["recipe"])
    model = adapter.build(spec, job["weights"], recipe, job["lr"])
    module, half = model.module, BATCH // 2
    module.train()
    for step in range(STEPS):
        idx = job["order"][step]
        x = torch.from_numpy(job["x_train"][idx])
        y = torch.from_numpy(job["y_train"][idx]).long()
        for g in model.optimizer.param_groups:
            g["lr"] = model.lrs(1)[0]
        model.optimizer.zero_grad()
        loss0 = torch.nn.functional.cross_entropy(module(x[:half]), y[:half])
        after_half0 = {k: v.clone() for k, v in module.named_buffers()}
        loss1 = torch.nn.functional.cross_entropy(module(x[half:]), y[half:])
        ((loss0 + loss1) / 2).backward()
        with torch.no_grad():  # after backward: autograd saved these buffers' versions
            for k, v in module.named_buffers():
                v.copy_(after_half0[k])
        model.optimizer.step()
        model.step += 1
    return adapter.get_weights(model)


def batchnorm_job(framework: str) -> dict[str, Any]:
    """The tiny ResNet-20 (BatchNorm in every block) on random 8x8x3 images."""
    spec = architecture("resnet20").tiny
    rng = np.random.default_rng(0)
    n = STEPS * BATCH
    recipe = replace(RECIPE, weight_decay=0.0)
    return {
        "framework": framework,
        "spec": spec.to_dict(),
        "recipe": recipe.to_dict(),
        "weights": weights.init_weights(spec, 0),
        "lr": lr_table(recipe),
        "x_train": rng.normal(size=(n, *spec.input_shape)).astype(np.float32),
        "y_train": rng.integers(0, spec.num_classes, n).astype(np.int64),
        "x_test": np.zeros((1, *spec.input_shape), np.float32),
        "y_test": np.zeros(1, np.int64),
        "order": rng.permutation(n)[: STEPS * BATCH].reshape(STEPS, BATCH),
        "settings": Settings(threads=1).to_dict(),
        "address": "127.0.0.1",
    }


@pytest.mark.slow
@requires("torch")
def test_torch_batchnorm_is_per_worker_ghost_batchnorm(tmp_path: Path) -> None:
    job = batchnorm_job("torch")
    ranks = run_two_workers(job, tmp_path)
    reference = ghost_batchnorm_reference(job)
    stats = [k for k in reference if "moving" in k or "running" in k]
    assert stats, "the tiny ResNet-20 has BatchNorm running statistics"
    for name, want in reference.items():
        err = relative_error(ranks[0][name], want)
        assert err <= 1e-5, f"rank 0 {name}: relative error {err:.2e}"
        if name not in stats:  # rank 1's own last forward updated its statistics
            err = relative_error(ranks[1][name], want)
            assert err <= 1e-5, f"rank 1 {name}: relative error {err:.2e}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "framework",
    [
        pytest.param("tf", marks=requires("torch", "tensorflow")),
        pytest.param("keras", marks=requires("torch", "keras", "tensorflow")),
    ],
)
def test_tf_and_keras_batchnorm_is_per_worker_too(framework: str, tmp_path: Path) -> None:
    """Rank 0 of tf / Keras on 2 workers against the same ghost batch norm reference (torch,
    one process): cross-framework, so within the suite's float32 parity tolerance."""
    job = batchnorm_job(framework)
    rank0 = run_two_workers(job, tmp_path)[0]
    reference = ghost_batchnorm_reference(job)
    for name, want in reference.items():
        err = relative_error(rank0[name], want)
        assert err <= CROSS_FRAMEWORK, f"rank 0 {name}: relative error {err:.2e}"
