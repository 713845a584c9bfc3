"""Per-cell memory (issue 11 item 3): a cell's figure is its peak above the framework's
post-import baseline, measured in a fresh worker, so it does not depend on what ran before."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bench.measure import memory
from bench.run.options import RunOptions
from bench.run.progress import PlainReporter
from bench.run.runner import Runner
from bench.run.store import RunDir
from bench.zoo.specs import Cell, Recipe, Settings
from tests.conftest import requires


def test_cell_memory_is_the_peak_above_the_baseline() -> None:
    m = memory.cell_memory(300 * 2**20, 340 * 2**20, fresh_worker=True, device_peak=None)
    assert m == {
        "baseline_bytes": 300 * 2**20,
        "peak_above_baseline_bytes": 40 * 2**20,
        "fresh_worker": True,
        "device_peak_bytes": None,
    }
    # a peak reset below the baseline (the allocator returned import-time pages) is not negative
    assert memory.cell_memory(300, 200, fresh_worker=False)["peak_above_baseline_bytes"] == 0


def _run(tmp_path: Path, name: str, cells: list[Cell], settings: Settings) -> dict[str, Any]:
    run_dir = RunDir.create(tmp_path / name, {"run_id": name})
    reporter = PlainReporter(Console(file=open(os.devnull, "w")))  # noqa: SIM115
    options = RunOptions(timing_passes=0, latency_calls=20)
    Runner(run_dir, settings, options, reporter).run(cells)
    records = {r["key"]: r for r in run_dir.records()}
    assert all(r["status"] == "ok" for r in records.values()), records
    return records


@pytest.mark.slow
@requires("torch")
def test_a_cells_memory_does_not_depend_on_a_bigger_cell_before_it(tmp_path: Path) -> None:
    # ResNet-20 on 32x32x3 images peaks well above the GRU at 1000; in a reused worker
    # a small cell read 2.4x its own figure after a big one (its freed arenas stay resident).
    # The figure jitters between two fresh workers of the same cell (not with cell order): an
    # MLP's 13 MiB by 6-11 %, this GRU's 37-51 MiB by up to 15 % across runs (6.5 % between two
    # workers of one quiet run), cause not found; so 15 % here, against the 2.4x a reused
    # worker showed.
    big = Cell(
        "torch",
        "resnet20",
        "synthetic-cifar10",
        "test",
        Recipe(steps=4, eval_every=2, batch_size=128),
    )
    small = Cell("torch", "gru", "mnist1d", "test", Recipe(steps=10, eval_every=5, batch_size=1000))
    both = _run(tmp_path, "both", [big, small], Settings(threads=1))
    alone = _run(tmp_path, "alone", [small], Settings(threads=1))
    after_big, by_itself = both[small.key]["memory"], alone[small.key]["memory"]
    assert after_big["fresh_worker"] and by_itself["fresh_worker"]
    assert (
        both[big.key]["memory"]["peak_above_baseline_bytes"]
        > 1.5 * (by_itself["peak_above_baseline_bytes"])
    )  # the big cell is bigger, or the test shows nothing
    assert after_big["peak_above_baseline_bytes"] == pytest.approx(
        by_itself["peak_above_baseline_bytes"], rel=0.15
    )
    assert by_itself["device_peak_bytes"] is None  # CPU


def _cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.framework
def test_on_a_gpu_the_cell_records_the_allocators_peak(tmp_path: Path) -> None:
    """torch.cuda.max_memory_allocated since the cell's build: at least the weights, Adam's two
    moments and the gradients (4 float32 copies of the parameters)."""
    if not _cuda():  # asked here, not at collection: the fast tier imports no torch
        pytest.skip("needs a CUDA device")
    cell = Cell("torch", "mlp", "digits", "test", Recipe(steps=20, eval_every=10))
    record = _run(tmp_path, "gpu", [cell], Settings(device="cuda", threads=1))[cell.key]
    device_peak = record["memory"]["device_peak_bytes"]
    assert device_peak is not None and device_peak >= 4 * 4 * record["param_count"]
    assert record["peak_device_memory_bytes"] == device_peak
