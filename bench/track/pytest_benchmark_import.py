"""Add a pytest-benchmark JSON file (``benchmarks/test_steps.py``'s output) to the history.

pytest-benchmark is the quick, familiar way to time one step; the history is where regressions
are tracked. This turns one file into one run of result records, so the history page and
``bench compare`` read step benchmarks exactly as they read suite runs. Each benchmark becomes
a cell keyed ``<framework>/<model>/<dataset>/<phase>`` (``train``, ``infer``, or ``infer-b1`` for
an inference batch other than the recipe's), from the benchmark's ``params`` and ``extra_info``.

The raw per-call times (``--benchmark-save-data``) become ``step_times_s`` and give throughput an
interval from :func:`bench.measure.summaries.summarize_steps`; without them only the median is known
and the interval bounds are None. A file that is not pytest-benchmark JSON is refused whole, before
the database is touched.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from bench.catalog.frameworks import VARIANTS
from bench.measure import environment, summaries
from bench.run.results import SchemaError, clean, validate
from bench.track.history import History
from bench.zoo.specs import SCHEMA_VERSION

SOURCE = "pytest-benchmark"
_TOP_LEVEL = ("machine_info", "commit_info", "benchmarks", "datetime")


def load_pytest_benchmark(path: Path) -> dict[str, Any]:
    """The parsed file, or :class:`SchemaError` if it is not pytest-benchmark JSON."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SchemaError(f"{path}: not a pytest-benchmark JSON file (not valid JSON)") from None
    if not isinstance(doc, dict) or any(k not in doc for k in _TOP_LEVEL):
        raise SchemaError(
            f"{path}: not a pytest-benchmark JSON file (it needs {', '.join(_TOP_LEVEL)})"
        )
    if not isinstance(doc["benchmarks"], list) or not isinstance(doc["machine_info"], dict):
        raise SchemaError(f"{path}: not a pytest-benchmark JSON file (malformed benchmarks)")
    return doc


def _created(doc: dict[str, Any], path: Path) -> datetime:
    try:
        when = datetime.fromisoformat(str(doc["datetime"]))
    except ValueError:
        raise SchemaError(f"{path}: datetime {doc['datetime']!r} is not ISO 8601") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def run_env(doc: dict[str, Any], path: Path) -> dict[str, Any]:
    """The run's env.json equivalent: git from ``commit_info``, machine from ``machine_info``.

    The fingerprint uses the fields ``benchmarks/conftest.py`` adds under ``machine_info["bench"]``
    (the suite's own CPU, cores, GPUs and package versions), so a file from this machine matches
    the suite's runs; a file without them gets py-cpuinfo's CPU and no package versions, which
    fingerprints as another machine (better than a false match).
    """
    machine = doc["machine_info"]
    commit = doc.get("commit_info") or {}
    cpu = machine.get("cpu") or {}
    ours = machine.get("bench") or {}
    fields = {
        "cpu_model": ours.get("cpu_model") or cpu.get("brand_raw") or machine.get("processor")
        or machine.get("machine") or "unknown",
        "logical_cores": ours.get("logical_cores") or cpu.get("count"),
        "gpus": list(ours.get("gpus") or []),
        "packages": dict(ours.get("packages") or {}),
    }  # fmt: skip
    created = _created(doc, path)
    sha = str(commit.get("id") or "")
    stamp = created.astimezone(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return {
        "run_id": f"pytest-benchmark-{stamp}-{sha[:8] or 'nocommit'}",
        "created": created.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "python": machine.get("python_version"),
        "os": f"{machine.get('system', '')} {machine.get('release', '')}".strip(),
        **fields,
        "hostname": machine.get("node"),
        "git": {
            "commit": sha or None,
            "branch": commit.get("branch"),
            "dirty": commit.get("dirty"),
        },
        "fingerprint": environment.machine_fingerprint(fields),
        "suite": SOURCE,
        "source": SOURCE,
        "threads": ours.get("threads"),
        "pytest_benchmark_version": doc.get("version"),
        "imported_from": str(path),
    }


def _cell_fields(bench: dict[str, Any], where: str) -> dict[str, Any]:
    """framework, model, dataset, phase and batch size from params, then extra_info."""
    params = bench.get("params") or {}
    extra = bench.get("extra_info") or {}
    found = {k: params.get(k, extra.get(k)) for k in ("framework", "model", "dataset")}
    missing = [k for k, v in found.items() if not v]
    if missing:
        raise SchemaError(
            f"{where}: params lack {', '.join(missing)} (not a benchmarks/test_steps.py benchmark)"
        )
    name = str(bench.get("name", ""))
    phase = extra.get("phase") or ("infer" if "infer" in name else "train")
    batch = params.get("batch_size", extra.get("batch_size"))
    if not isinstance(batch, int) or batch <= 0:
        raise SchemaError(f"{where}: no positive batch_size in params or extra_info")
    if any("/" in str(v) for v in found.values()):
        raise SchemaError(f"{where}: framework, model and dataset must not contain '/'")
    return {**{k: str(v) for k, v in found.items()}, "phase": str(phase), "batch_size": batch}


def _key(f: dict[str, Any], recipe: dict[str, Any] | None) -> str:
    default_batch = (recipe or {}).get("batch_size")
    suffix = f["phase"]
    if f["phase"] != "train" and f["batch_size"] != default_batch:
        suffix = f"{suffix}-b{f['batch_size']}"
    return f"{f['framework']}/{f['model']}/{f['dataset']}/{suffix}"


def _timing(st: dict[str, Any], batch: int) -> tuple[dict, dict, list[float]]:
    """(throughput, step_latency_ms, step_times_s) of one benchmark's stats."""
    raw = [float(t) for t in st.get("data") or []]
    if len(raw) >= 2 and all(t > 0 for t in raw):
        summary = summaries.summarize_steps(np.asarray(raw), batch, None, 0)
        return summary["throughput"], summary["step_latency_ms"], raw
    median = float(st["median"])
    throughput = {
        "median": batch / median, "ci_low": None, "ci_high": None, "ci_level": None,
        "unit": "samples/s", "n_steps": int(st.get("rounds") or 0), "n_rounds": 1,
        "method": "pytest-benchmark median (no raw data saved: no interval)",
        "converged": None, "relative_half_width": None,
    }  # fmt: skip
    latency = {
        "p50": median * 1e3, "p90": None, "p99": None,
        "mean": float(st["mean"]) * 1e3 if st.get("mean") else None,
        "min": float(st["min"]) * 1e3 if st.get("min") else None,
        "max": float(st["max"]) * 1e3 if st.get("max") else None,
        "n_outliers": None,
    }  # fmt: skip
    return throughput, latency, raw


def to_record(bench: dict[str, Any], env: dict[str, Any], where: str) -> dict[str, Any]:
    """One benchmark as a validated result record of run ``env["run_id"]``."""
    if not isinstance(bench, dict) or not isinstance(bench.get("stats"), dict):
        raise SchemaError(f"{where}: a benchmark without stats")
    st = bench["stats"]
    if not isinstance(st.get("median"), int | float) or st["median"] <= 0:
        raise SchemaError(f"{where}: stats.median is missing or not positive")
    f = _cell_fields(bench, where)
    extra = bench.get("extra_info") or {}
    recipe = extra.get("recipe") if isinstance(extra.get("recipe"), dict) else None
    throughput, latency, raw = _timing(st, f["batch_size"])
    variant = VARIANTS.get(f["framework"])
    record = {
        "schema": SCHEMA_VERSION,
        "run_id": env["run_id"],
        "key": _key(f, recipe),
        "framework": f["framework"],
        "family": variant.family if variant else None,
        "tier": variant.tier if variant else None,
        "model": f["model"],
        "dataset": f["dataset"],
        "suite": SOURCE,
        "seed": extra.get("seed", 0),
        "device": extra.get("device", "cuda" if env["gpus"] else "cpu"),
        "recipe": recipe,
        "status": "ok",
        "error": None,
        "diverged_at_step": None,
        "synthetic_data": False,
        "test_accuracy": None,
        "throughput": throughput,
        "step_latency_ms": latency,
        "inference": None,
        "time_to_first_step_s": None,
        "warmup_steps": 0,  # pytest-benchmark's warm-up calls are not in its data
        "peak_rss_bytes": None,
        "peak_device_memory_bytes": None,
        "curve": [],
        "step_times_s": raw,
        "round_sizes": [len(raw)] if raw else [],
        "manifest": {
            "harness": f"pytest-benchmark {env.get('pytest_benchmark_version')}",
            "threads_intra": env.get("threads"),
            "timer": (bench.get("options") or {}).get("timer"),
        },
        "pytest_benchmark": {
            "name": bench.get("name"),
            "fullname": bench.get("fullname"),
            "group": bench.get("group"),
            "params": bench.get("params"),
            "phase": f["phase"],
            "batch_size": f["batch_size"],
            "models_from_suite": extra.get("suite"),
            "stats": {k: v for k, v in st.items() if k != "data"},
        },
        "started_at": env["created"],
        "finished_at": env["created"],
    }
    return validate(clean(record), where)


def import_pytest_benchmark(history: History, path: Path) -> int:
    """Add the file as one run of ``history``; returns the number of cells imported."""
    path = Path(path)
    doc = load_pytest_benchmark(path)
    env = run_env(doc, path)
    records = [
        to_record(b, env, f"{path}: {b.get('name', i) if isinstance(b, dict) else i}")
        for i, b in enumerate(doc["benchmarks"])
    ]
    keys = [r["key"] for r in records]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise SchemaError(f"{path}: two benchmarks map to one cell ({', '.join(dupes)})")
    history.add_run(env, source=SOURCE)
    for record in records:
        history.add_record(record)
    return len(records)


__all__ = ["SOURCE", "import_pytest_benchmark", "load_pytest_benchmark", "run_env", "to_record"]
