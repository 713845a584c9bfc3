"""A fake sweep run on disk: torch and tf MLP points over batch 16..1024 with known costs (torch
cheaper per step, tf cheaper per sample, so their ranking crosses near batch 512), 3 passes of
windows each, memory samples growing with the batch. For the sweep report's tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.measure import memory
from bench.run.record import speed
from bench.run.store import RunDir
from bench.run.sweep_plan import CUTS
from bench.run.sweep_runner import point_fields
from bench.zoo.specs import SCHEMA_VERSION, Cell, Recipe

BATCHES = [16, 32, 64, 128, 256, 512, 1024]
#: (fixed seconds per step, seconds per sample) of each fake framework.
COSTS = {"torch": (4e-4, 3e-6), "tf": (1.2e-3, 1.5e-6)}


def write_fake_sweep(root: Path, threads: tuple[int, ...] = (1,)) -> Path:
    env = {
        "run_id": "fake-sweep", "suite": "quick", "tag": "sweep",
        "settings": {"device": "cpu", "threads": 1}, "timing": {"passes": 3, "pass_seconds": 0.5},
        "sweep": {"kind": "throughput point",
                  "axes": {"batch_sizes": BATCHES, "threads": list(threads), "seq_lens": None},
                  "cuts": {k: {"sweep": v[0], "suite": v[1]} for k, v in CUTS.items()},
                  "memory_budget_bytes": 64 * 2**20},
    }  # fmt: skip
    run = RunDir.create(root / "fake-sweep", env)
    rng = np.random.default_rng(0)
    for t in threads:
        for fw, (a, c) in COSTS.items():
            for b in BATCHES:
                cell = Cell(fw, "mlp", "mnist1d", "quick", Recipe(batch_size=b, steps=40),
                            sweep=True, threads=t)  # fmt: skip
                step = (a + c * b) / (t**0.8)
                passes = []
                for k in range(3):
                    s = step * np.exp(rng.normal(0, 0.02))
                    mem = memory.cell_memory(10**8, 10**8 + 2**20 + 4000 * b * (1 + 0.1 * k), True)
                    passes.append({"pass": k + 1, "scope": "step", "window_steps": [100, 100],
                                   "window_seconds": [100 * s, 100 * s * 1.01],
                                   "step_times_s": [], "round_sizes": [0],
                                   "memory": mem})  # fmt: skip
                record = {"schema": SCHEMA_VERSION, "run_id": "fake-sweep", "key": cell.key,
                          "framework": fw, "model": "mlp", "dataset": "mnist1d", "suite": "quick",
                          "status": "ok", "recipe": cell.recipe.to_dict(), "timing_passes": passes,
                          "memory": {"steps": memory.steps_summary([p["memory"] for p in passes])},
                          **point_fields(cell)}  # fmt: skip
                record["throughput"], _ = speed(record, b)
                run.append(json.loads(json.dumps(record)))
    return run.path
