"""The result record: one JSON object per cell, schema-versioned, validated on read.

A record is a plain dict (so pandas, SQLite and JSON all take it as is). Readers refuse a
record from another schema version with a message naming both versions, rather than guess.

Fields (``SCHEMA_VERSION`` 1): all that a record of ``bench run`` holds, those of
:func:`bench.run.record.build_record`, then ``precision``, ``memory_format`` and
``drift_reference`` (:class:`bench.run.runner.Runner`), on a data-parallel cell
``distributed``, ``workers`` and ``scaling`` (:mod:`bench.run.distributed`), and on a sweep's
throughput point ``sweep``, ``batch_size``, ``threads``, ``seq_len`` and ``model_size``
(:mod:`bench.run.sweep_runner`). Fields were only ever
added; a reader takes a missing one as absent (older records)::

    schema            1
    run_id            the run this cell belongs to
    key               "<framework>/<model>/<dataset>", unique within a run; "@<precision>" added
                      for a precision other than fp32 (Cell.key), "@<N>w" on a data-parallel cell
    framework         variant name: "torch", "torch:compile", "tf", "tf:xla", "keras", ...
    family, tier      "torch"|"tf"|"keras"|"sklearn"; "out of the box"|"tuned"|"reference"
    reference         True for a reference variant (sklearn): shown, never ranked ("vs fastest",
                      speed ratios); False for a framework; absent on older records
    optimum           a reference cell's model fitted to its optimum on the same split:
                      {"estimator", "solver", "C", "max_iter", "n_iter", "converged",
                       "fit_seconds", "train_samples", "train_accuracy", "test_accuracy",
                       "test_loss", "test_samples"} (models/sklearn/logreg.py); None otherwise
    model, dataset, suite, seed, device
    precision         "fp32" | "tf32" | "bf16" | "fp16" (bench.zoo.precision)
    memory_format     "contiguous" | "channels-last" (--memory-format)
    recipe            Recipe.to_dict()
    status            "ok" | "failed" | "timeout" | "diverged"
    error             one line saying what went wrong, or None
    diverged_at_step  first step whose loss was not finite, or None
    synthetic_data    schema 1's first name for ``synthetic`` (kept for older readers)
    synthetic         True for a synthetic throughput dataset: accuracy means nothing
    data_dir          the resolved --data-dir of a dataset read from files, else None
    augmentation      the augmentation of the training batches (bench.data.augmentation), or None
    param_count, flops_per_sample_forward, flops_per_sample_train
    test_accuracy, test_loss, best_test_accuracy, final_train_loss
    test_samples      predictions the last evaluation scored (an LM's: tokens), the
                      binomial floor of accuracy verdicts; None on older and data-parallel
                      records
    throughput        {"median", "ci_low", "ci_high", "ci_level", "unit": "samples/s",
                       "n_steps", "n_rounds", "method", "converged", "relative_half_width",
                       "scope": "step"}, from the timing passes when there are any (then also
                      "n_passes" and "pass_medians"), else from the training steps; see
                      bench.measure.timing
    tokens_per_sample, token_throughput   sequence models only: T, and throughput x T
                      {"median", "ci_low", "ci_high", "unit": "tokens/s"}
    language_model    LM cells only: {"test_loss", "perplexity", "entropy_rate",
                      "unigram_loss", "loss_above_entropy_rate", "gap_closed"}
                      (bench.measure.sequence_figures)
    step_latency_ms   {"p50", "p90", "p99", "mean", "min", "max", "n_outliers"}, from the
                      synced steps only
    extra_timing_steps timed steps of the timing passes (warm-up excluded)
    timing_passes     [{"pass", "worker_pid", "started_at", "warmup_steps", "step_times_s",
                       "round_sizes", "scope", "optimizer", "warmup_times_s", "window_steps",
                       "window_seconds", "cold": {"steps", "seconds", "idle_before_s"},
                       "memory": the pass's sample, as memory's whole-run fields, read after
                       the build and warm-up}]: one per fresh-process timing pass after training;
                      throughput from the windows, latency from step_times_s (synced); older
                      records without
                      windows: both from step_times_s (docs/measurement.md). A data-parallel
                      cell's passes have windows only, plus "window_seconds_max_rank"
    after_idle        {"unit", "steps", "median", "pass_values", "relative_to_windows",
                       "idle_before_s"}: the cold windows (first steps after an idle gap), kept
                      out of throughput; None without timing passes
    drift_reference   {"workload", "seconds": [one per timing pass], "readings": [[start, end] per
                      pass]}: bench.measure.drift_reference (a pass's second is its lower reading)
    timing_notes      why a timing pass is missing for this cell (its worker died, ...)
    loop_windows      [{"pass", "scope": "loop", "steps", "seconds", "samples_per_s"}]: the
                      loop-scope window of each timing pass (--loop-steps; [] without it)
    inference         {"batch1_latency_ms": {"p50", "p90", "p99", ...}, "large_batch":
                      {"batch_size", "median", "ci_low", "ci_high", ...}} in inference mode
    time_to_first_step_s   the first step alone (tracing/compilation included)
    warmup_steps      steps excluded from throughput and latency
    build_seconds     the adapter's build of the cell's model and optimizer, in its worker
    import_seconds    its training worker's framework import and configuration (the adapter's
                      ``configure``), before any cell; None in records written before it was kept
    train_time_s      sum of all step times (evaluation excluded)
    eval_time_s       time spent evaluating
    accuracy_target, time_to_accuracy_s   training seconds until test accuracy first reached the
                      target (evaluation excluded), None if never
    peak_rss_bytes    peak resident set of the worker during the cell (VmHWM reset at cell start)
    baseline_rss_bytes resident set after the framework import, before the cell
    peak_device_memory_bytes   from the framework's own counters, None on the CPU
    memory            the training pass's whole-run figures {"baseline_bytes",
                       "peak_above_baseline_bytes", "fresh_worker", "device_peak_bytes"}
                      (bench.measure.memory.cell_memory: build through training, evaluation and
                      inference), and "steps": the gated figure, one sample per timing pass in a
                      fresh worker over the training steps only {"source", "samples_bytes",
                      "n_samples", "median_bytes", "mean_bytes", "ci_low_bytes", "ci_high_bytes",
                      "method"} (bench.measure.memory.steps_summary; None without timing
                      passes); None on a data-parallel cell
    curve             [{"step", "train_seconds", "train_loss", "test_loss", "test_accuracy",
                       "test_samples"}]
    step_times_s      every training step's seconds, warm-up included, in order
    losses            every training step's loss, in order (None where not finite)
    round_sizes       how many steps each training round ran (clusters for the statistics)
    manifest          the fairness manifest the adapter reported (threads, precision, tf32,
                      the loop scope's "pipeline", "distributed", ...)
    worker_pid        the cell's worker process (rank 0's on a data-parallel cell)
    started_at, finished_at   ISO 8601 UTC
    distributed       data-parallel cells only: {"workers", "scaling", "per_worker_batch",
                       "global_batch", "engine", ..., "allreduce", "scaling_efficiency"}
                      (bench.run.distributed; docs/distributed.md)
    workers, scaling  data-parallel cells only: the worker count and "weak"|"strong", top-level
                      for bench.track.series
    sweep             a sweep's throughput points only (bench sweep, bench.run.sweep_runner):
                      {"kind": "throughput point", "batch_size", "threads", "seq_len", "cuts":
                      {step kind: {"sweep", "suite"}}, "memory_figure"}: timed, never trained
    batch_size, threads, seq_len   throughput points only: the point's axis values, top-level
                      for bench.track.series (threads, and seq_len in the key; docs/sweeps.md)
    model_size        throughput points only: "full", or "tiny" (the architecture's tiny
                      configuration on the same data, bench sweep --tiny)
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.zoo.specs import SCHEMA_VERSION, STATUSES


def clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become None (records are strict JSON), NumPy becomes Python."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


REQUIRED = ("schema", "run_id", "key", "framework", "model", "dataset", "status")


class SchemaError(ValueError):
    """A results file this version cannot read (another schema, or not a results file)."""


class TruncatedLineWarning(UserWarning):
    """The last line of a results file was cut off (a crash mid-write); it was skipped."""


def validate(record: dict[str, Any], where: str = "record") -> dict[str, Any]:
    """Return ``record`` if this version can read it; raise :class:`SchemaError` otherwise."""
    if not isinstance(record, dict):
        raise SchemaError(f"{where}: not a result record (a JSON object was expected)")
    version = record.get("schema")
    if version != SCHEMA_VERSION:
        raise SchemaError(
            f"{where}: written with result schema version {version}, this bench reads version "
            f"{SCHEMA_VERSION}; re-run it with a bench of the same schema version"
        )
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise SchemaError(f"{where}: result record lacks {', '.join(missing)}")
    if record["status"] not in STATUSES:
        raise SchemaError(f"{where}: unknown status {record['status']!r}")
    return record


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record of a results.jsonl, validated.

    A cut-off *last* line (the writer died mid-line) is skipped with a warning; a bad line
    anywhere else means the file is corrupt and raises :class:`SchemaError`.
    """
    return list(iter_records(path))


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SchemaError(f"{path}: not a results file (not UTF-8 text)") from None
    lines = text.split("\n")
    complete = text.endswith("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        is_last = number == len(lines) or (number == len(lines) - 1 and complete)
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if is_last and not complete:
                warnings.warn(
                    f"{path}:{number}: last line is cut off (a crash while writing?); skipped it",
                    TruncatedLineWarning,
                    stacklevel=2,
                )
                return
            raise SchemaError(
                f"{path}:{number}: not valid JSON: the results file is corrupt"
            ) from None
        yield validate(record, f"{path}:{number}")
