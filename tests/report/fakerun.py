"""A realistic fake run directory, written through the real store and statistics code.

Report tests (and later the history page's) need a run with several frameworks and models, a failed
cell, evaluation curves and interleaved timing rounds, without training anything. The records follow
``bench.run.results`` field for field; throughput and latency come from
``bench.measure.summaries.summarize_steps`` on the fake step times, so they are consistent with
them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.catalog.frameworks import VARIANTS, reference_refusal
from bench.catalog.suites import ACCURACY_TARGETS
from bench.measure import memory, summaries
from bench.run.record import speed
from bench.run.store import RunDir
from bench.zoo.specs import SCHEMA_VERSION, Recipe

EVIL = "<script>alert(1)</script>"
PAIRS = (
    ("logreg", "mnist1d"),
    ("mlp", "mnist1d"),
    ("cnn", "mnist1d"),
    ("gru", "mnist1d"),
    ("cnn", "digits"),
)
FRAMEWORKS = ("torch", "tf", "keras")
FAILED = {
    ("keras", "gru", "mnist1d"): "ResourceExhaustedError: OOM when allocating tensor "
    "with shape[100,40,12] on /job:localhost/replica:0/task:0/device:CPU:0"
}

# Seconds per step of each model in torch, and how much slower the others are.
_BASE_STEP = {"logreg": 0.0004, "mlp": 0.0009, "cnn": 0.0035, "gru": 0.012}
_SLOWDOWN = {"torch": 1.0, "tf": 1.35, "keras": 1.9, "keras:torch": 1.6, "sklearn": 0.5}
_FINAL_ACC = {"logreg": 0.33, "mlp": 0.62, "cnn": 0.88, "gru": 0.82}
_PARAMS = {"logreg": 410, "mlp": 15_210, "cnn": 5_210, "gru": 3_130}
#: A record written before ``memory`` existed: the worker's peak RSS is all it has.
OLD_MEMORY = ("tf", "cnn", "digits")
_MANIFEST_LAYOUT = {
    "torch": "NCL/NCHW (channels-first) inside the model; channels-last input permuted",
    "tf": "NLC/NHWC (channels-last)",
    "keras": "NLC/NHWC",
}


def write_fake_run(
    root: Path,
    *,
    run_id: str = "20260101-120000-a1b2c3",
    frameworks: tuple[str, ...] = FRAMEWORKS,
    pairs: tuple[tuple[str, str], ...] = PAIRS,
    failed: dict[tuple[str, str, str], str] | None = None,
    synthetic: tuple[tuple[str, str, str], ...] = (),
    calibration: bool = True,
    tag: str | None = "nightly",
    steps: int = 300,
    rounds: int = 10,
    seed: int = 0,
    suite: str = "quick",
) -> Path:
    """Write ``root/run_id`` (results.jsonl and env.json) and return its path.

    ``failed`` maps (framework, model, dataset) to the error text of a cell that failed before
    its first step; by default one cell (keras gru) failed with an out-of-memory error. A
    reference framework (``sklearn``) gets the flag and its fitted optimum
    (:func:`as_reference`), and only the pairs it runs.
    """
    failed = FAILED if failed is None else failed
    recipe = Recipe(
        optimizer="adam", lr=1e-2, batch_size=100, steps=steps, eval_every=50, warmup_steps=10
    )
    run = RunDir.create(root / run_id, {**fake_env(run_id, tag, frameworks, calibration),
                                        "suite": suite})  # fmt: skip
    rng = np.random.default_rng(seed)
    # One slow-down factor per timing round, shared by every framework: interleaved rounds see
    # the same machine state, which is what the paired ratio interval relies on.
    drift = 1 + 0.04 * rng.standard_normal(rounds)
    for model, dataset in pairs:
        for framework in frameworks:
            key = (framework, model, dataset)
            variant = VARIANTS.get(framework)
            if variant is not None and reference_refusal(variant, model, dataset, recipe):
                continue  # the plan skips what a reference cannot run
            record = fake_record(run_id, framework, model, dataset, recipe, drift, rng)
            record["suite"] = suite
            if variant is not None and variant.reference:
                record = as_reference(record)
            if key in failed:
                record = as_failed(record, failed[key])
            if key in synthetic:
                record["synthetic_data"] = True
            if key == OLD_MEMORY:
                del record["memory"]
            run.append(record)
    return run.path


def fake_env(
    run_id: str, tag: str | None, frameworks: tuple[str, ...], calibration: bool
) -> dict[str, Any]:
    env: dict[str, Any] = {
        "run_id": run_id,
        "tag": tag,
        "suite": "quick",
        "settings": {
            "device": "cpu",
            "threads": 8,
            "interop_threads": 1,
            "precision": "float32",
            "tf32": False,
            "deterministic": False,
        },
        "plan": [],
        "argv": ["run", "--frameworks", ",".join(frameworks)],
        "created": "2026-01-01T12:00:00+00:00",
        "python": "3.11.7",
        "os": "Linux 6.8.0",
        "platform": "Linux-6.8.0-x86_64-with-glibc2.36",
        "cpu_model": "AMD EPYC 7B13 64-Core Processor",
        "physical_cores": 8,
        "logical_cores": 16,
        "usable_cores": 8,
        "memory_bytes": 64 * 2**30,
        "gpus": [],
        "packages": {
            "torch": "2.5.1+cpu",
            "tensorflow-cpu": "2.18.0",
            "keras": "3.7.0",
            "numpy": "2.1.3",
            "pandas": "2.2.3",
        },
        "git": {
            "commit": "0123456789abcdef0123456789abcdef01234567",
            "branch": "main",
            "dirty": False,
        },
        "hostname": "bench-01",
        "fingerprint": "dda523ac194bff78",
    }
    if calibration:
        env["calibration"] = {
            "matmul_gflops": {"numpy": 410.0, "torch": 455.5, "tensorflow": 398.2},
            "memory_bandwidth_gbs": 21.4,
            "threads": 8,
            "device": "cpu",
            "sizes": [256, 512, 1024, 2048],
            "errors": {},
            "measured": "2026-01-01T11:58:00Z",
        }
    return env


def fake_record(
    run_id: str,
    framework: str,
    model: str,
    dataset: str,
    recipe: Recipe,
    drift: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """One finished cell with plausible numbers, every schema field present."""
    family = framework.split(":")[0]
    base = _BASE_STEP.get(model, 0.002) * _SLOWDOWN.get(framework, 1.2)
    sizes = [recipe.steps // len(drift)] * len(drift)
    sizes[-1] += recipe.steps - sum(sizes)
    times = np.concatenate(
        [base * d * rng.lognormal(0, 0.08, n) for d, n in zip(drift, sizes, strict=True)]
    )
    times[0] = 0.05 + 40 * base  # the first step traces or compiles
    summary = summaries.summarize_steps(times, recipe.batch_size, sizes, recipe.warmup_steps)
    final = _FINAL_ACC.get(model, 0.7) - (0.0 if dataset == "mnist1d" else -0.1)
    final = min(final + 0.01 * rng.standard_normal(), 0.99)
    evals = list(range(recipe.eval_every, recipe.steps + 1, recipe.eval_every))
    elapsed = np.cumsum(times)
    curve = []
    for step in evals:
        progress = 1 - np.exp(-step / (recipe.steps / 4))
        acc = float(0.1 + (final - 0.1) * progress + 0.005 * rng.standard_normal())
        loss = float(2.3 * (1 - progress) + (1.2 - final) * progress + 0.03 * rng.random())
        curve.append(
            {
                "step": step,
                "train_seconds": float(elapsed[step - 1]),
                "train_loss": loss,
                "test_loss": loss * 1.05,
                "test_accuracy": acc,
            }
        )
    target = ACCURACY_TARGETS.get((model, dataset))
    reached = [
        c["train_seconds"] for c in curve if target is not None and c["test_accuracy"] >= target
    ]
    params = _PARAMS.get(model, 10_000)
    record = {
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "key": f"{framework}/{model}/{dataset}",
        "framework": framework,
        "family": family,
        "tier": "out of the box" if ":" not in framework else "tuned",
        "model": model,
        "dataset": dataset,
        "suite": "quick",
        "seed": 0,
        "device": "cpu",
        "recipe": recipe.to_dict(),
        "status": "ok",
        "error": None,
        "diverged_at_step": None,
        "synthetic_data": False,
        "param_count": params,
        "flops_per_sample_forward": 2 * params * 10,
        "flops_per_sample_train": 6 * params * 10,
        "test_accuracy": curve[-1]["test_accuracy"],
        "test_loss": curve[-1]["test_loss"],
        "best_test_accuracy": max(c["test_accuracy"] for c in curve),
        "final_train_loss": curve[-1]["train_loss"],
        "throughput": summary["throughput"],
        "step_latency_ms": summary["step_latency_ms"],
        "extra_timing_steps": 0,
        "inference": None,
        "time_to_first_step_s": float(times[0]),
        "warmup_steps": recipe.warmup_steps,
        "train_time_s": float(times.sum()),
        "eval_time_s": 0.02 * len(curve),
        "accuracy_target": target,
        "time_to_accuracy_s": reached[0] if reached else None,
        "peak_rss_bytes": int((310 + 120 * (family != "torch") + params / 500) * 2**20),
        "baseline_rss_bytes": int((290 + 115 * (family != "torch")) * 2**20),
        "peak_device_memory_bytes": None,
        "memory": None,  # below: baseline, whole run and (with timing passes) the passes'
        "curve": curve,
        "step_times_s": [round(float(t), 8) for t in times],
        "round_sizes": sizes,
        "manifest": fake_manifest(framework),
        "started_at": "2026-01-01T12:00:05+00:00",
        "finished_at": "2026-01-01T12:00:09+00:00",
    }
    if dataset == "mnist1d":  # timed again in three fresh-process passes; digits: training only
        record["timing_passes"] = [
            fake_pass(k, base * drift[k % len(drift)], recipe.warmup_steps, rng) for k in (1, 2, 3)
        ]
        record["extra_timing_steps"] = sum(
            len(p["step_times_s"]) - p["warmup_steps"] for p in record["timing_passes"]
        )
        record["throughput"], record["step_latency_ms"] = speed(record, recipe.batch_size)
    record["memory"] = fake_memory(record, rng)
    return record


def as_reference(record: dict[str, Any]) -> dict[str, Any]:
    """A reference cell's record: the flag, its tier and its fitted optimum (the numbers of a
    real MNIST-1D run: models/sklearn/logreg.py)."""
    return {
        **record,
        "reference": True,
        "tier": "reference",
        "optimum": {
            "estimator": "LogisticRegression", "solver": "lbfgs", "C": "inf",
            "max_iter": 10_000, "n_iter": 118, "converged": True, "fit_seconds": 0.11,
            "train_samples": 4000, "train_accuracy": 0.3745, "test_accuracy": 0.323,
            "test_loss": 1.6656, "test_samples": 1000,
        },
    }  # fmt: skip


def fake_memory(record: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """The whole run's figures (baseline, peak above it), each timing pass's fresh-worker
    sample (a few percent apart, below the whole run: no evaluation, no inference) and their
    summary under ``steps`` (None without timing passes, as for the digits cells)."""
    baseline, peak = record["baseline_rss_bytes"], record["peak_rss_bytes"]
    whole_run = memory.cell_memory(baseline, peak, fresh_worker=True)
    above = whole_run["peak_above_baseline_bytes"]
    for p in record.get("timing_passes") or []:
        sample = int(0.8 * above * rng.lognormal(0, 0.04))
        p["memory"] = memory.cell_memory(baseline, baseline + sample, fresh_worker=True)
    passes = [p["memory"] for p in record.get("timing_passes") or []]
    return {**whole_run, "steps": memory.steps_summary(passes)}


def fake_pass(index: int, step: float, warmup: int, rng: np.random.Generator) -> dict[str, Any]:
    """One timing pass: four rounds of 20 steps after the warm-up."""
    times = step * rng.lognormal(0, 0.08, warmup + 80)
    times[0] = 0.05 + 40 * step
    return {
        "pass": index,
        "worker_pid": 4000 + index,
        "started_at": "2026-01-01T12:01:00+00:00",
        "warmup_steps": warmup,
        "step_times_s": [round(float(t), 8) for t in times],
        "round_sizes": [warmup + 20, 20, 20, 20],
    }


def fake_manifest(framework: str) -> dict[str, Any]:
    family = framework.split(":")[0]
    versions = {
        "torch": {"torch": "2.5.1+cpu"},
        "tf": {"tensorflow": "2.18.0"},
        "keras": {"keras": "3.7.0", "tensorflow": "2.18.0"},
    }
    return {
        "threads_intra": 8,
        "threads_inter": 1,
        "precision": "float32",
        "tf32": False,
        "compile": {"torch": "eager", "tf": "tf.function", "keras": "jit_compile=False"}.get(
            family, "eager"
        ),
        "deterministic": False,
        "layout": _MANIFEST_LAYOUT.get(family, "channels-last"),
        "device": "cpu",
        "versions": versions.get(family, {}),
        "notes": [],
    }


def as_failed(record: dict[str, Any], error: str) -> dict[str, Any]:
    """The record of a cell that died before its first step: no measurements at all."""
    out = dict(record)
    for name in (
        "param_count",
        "flops_per_sample_forward",
        "flops_per_sample_train",
        "test_accuracy",
        "test_loss",
        "best_test_accuracy",
        "final_train_loss",
        "throughput",
        "step_latency_ms",
        "time_to_first_step_s",
        "train_time_s",
        "eval_time_s",
        "time_to_accuracy_s",
        "peak_rss_bytes",
        "inference",
        "memory",
    ):
        out[name] = None
    out.update(
        status="failed",
        error=error,
        curve=[],
        step_times_s=[],
        round_sizes=[],
        extra_timing_steps=0,
    )
    return out
