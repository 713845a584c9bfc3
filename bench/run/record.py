"""Turn a cell's raw measurements (times, losses, curve) into its result record."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from bench import data
from bench.catalog.frameworks import get_variant
from bench.measure import memory, sequence_figures, summaries, timing
from bench.run.results import clean
from bench.zoo.specs import SCHEMA_VERSION

if TYPE_CHECKING:
    from bench.run.cells import CellProgress


def build_record(
    p: CellProgress,
    *,
    run_id: str,
    device: str,
    accuracy_target: float | None,
    param_count: int,
    flops_forward: int,
    flops_train: int,
    data_dir: str | None = None,
) -> dict[str, Any]:
    cell = p.cell
    variant = get_variant(cell.framework)
    times = np.concatenate(p.step_times) if p.step_times else np.empty(0)
    losses = np.concatenate(p.losses) if p.losses else np.empty(0)
    warmup = min(cell.recipe.warmup_steps, max(len(times) - 1, 0))
    last = p.curve[-1] if p.curve else {}
    record = {
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "key": cell.key,
        "framework": cell.framework,
        "family": variant.family,
        "tier": variant.tier,
        "reference": variant.reference,
        "model": cell.model,
        "dataset": cell.dataset,
        "suite": cell.suite,
        "seed": cell.seed,
        "device": device,
        "recipe": cell.recipe.to_dict(),
        "status": p.status,
        "error": p.error,
        "diverged_at_step": p.diverged_at_step,
        "synthetic_data": data.info(cell.dataset).synthetic,  # schema 1's name for `synthetic`
        **data.provenance(cell.dataset, data_dir),  # synthetic, data_dir, augmentation
        "param_count": param_count,
        "flops_per_sample_forward": flops_forward,
        "flops_per_sample_train": flops_train,
        "test_accuracy": last.get("test_accuracy"),
        "test_loss": last.get("test_loss"),
        "test_samples": last.get("test_samples"),  # the binomial floor of accuracy verdicts
        "best_test_accuracy": max((c["test_accuracy"] for c in p.curve), default=None),
        "final_train_loss": last.get("train_loss"),
        "throughput": None,
        "step_latency_ms": None,
        "extra_timing_steps": p.extra_timing_steps,
        "inference": p.inference,
        "optimum": p.optimum,
        "time_to_first_step_s": float(times[0]) if len(times) else None,
        "warmup_steps": warmup,
        "build_seconds": p.build_seconds,
        "import_seconds": p.import_seconds,
        "train_time_s": p.train_seconds,
        "eval_time_s": p.eval_seconds,
        "accuracy_target": accuracy_target,
        "time_to_accuracy_s": p.time_to_accuracy_s,
        "peak_rss_bytes": p.finish.get("peak_rss_bytes"),
        "baseline_rss_bytes": p.baseline_rss_bytes,
        "peak_device_memory_bytes": p.finish.get("peak_device_memory_bytes"),
        "memory": cell_memory(p),
        "curve": p.curve,
        "step_times_s": [round(float(t), 8) for t in times],
        "losses": [round(float(x), 6) if math.isfinite(x) else None for x in losses.tolist()],
        "round_sizes": p.round_sizes,
        "timing_passes": p.timing_passes,
        "timing_notes": p.timing_notes,
        "loop_windows": p.loop_windows,
        "manifest": p.manifest,
        "worker_pid": p.worker_pid,
        "started_at": p.started_at,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    record["throughput"], record["step_latency_ms"] = speed(record, cell.recipe.batch_size)
    record["after_idle"] = timing.after_idle(record, cell.recipe.batch_size)
    record.update(sequence_figures.figures(record, p.spec))  # tokens/s, LM loss figures
    return clean(record)


def speed(
    record: dict[str, Any], batch_size: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(throughput, step latency) of a record from its passes (see :mod:`bench.measure.timing`)."""
    passes = timing.passes(record)
    if not passes or sum(r.size for p in passes for r in p) < 2:
        return None, None
    summary = summaries.summarize_passes(passes, batch_size)
    synced = timing.latency_steps(record)  # latency from synced steps, never from windows
    latency = summaries.latency_summary(synced) if synced is not None else None
    return {**summary["throughput"], "scope": "step"}, latency


def cell_memory(p: CellProgress) -> dict[str, Any] | None:
    """The record's ``memory``: the training pass's whole-run figures (build through training,
    evaluation and inference) and, under ``steps``, the gated figure from the timing passes'
    fresh-worker samples (:func:`bench.measure.memory.steps_summary`)."""
    whole_run = p.finish.get("memory")
    steps = memory.steps_summary([tp.get("memory") for tp in p.timing_passes])
    if whole_run is None and steps is None:
        return None
    return {**(whole_run or {}), "steps": steps}
