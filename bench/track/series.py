"""What makes two history figures comparable: the series key of a cell record.

A chart line that mixes a 300-step run with a 6,000-step run, or 1 thread with 2, shows the
settings changing, not the code; a change point on such a line is a false alarm. So a history
series is every field that changes the meaning of a record's figures: the machine, the framework
variant, model, dataset, a hash of the whole recipe (every hyper-parameter, steps included), the
precision, memory format, intra-op threads, device, worker count and scaling mode, and the timing
scope (a sweep's length point hashes its length with the recipe; its batch is the recipe's and
its threads are the threads field). ``bench compare`` refuses to compare cells whose recipe
differs; the charts are as strict.

Records written before some of these fields existed are read with the documented defaults
(:data:`DEFAULTS`), so an old and a new record of the same settings fall in one series.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

#: The fields of a series key, in display order.
FIELDS = (
    "machine", "framework", "model", "dataset", "recipe_hash", "precision", "memory_format",
    "threads", "device", "workers", "scaling", "scope",
)  # fmt: skip
#: What a record that does not say means (the only settings before the field was recorded).
DEFAULTS: dict[str, Any] = {
    "precision": "float32",
    "memory_format": "contiguous",
    "device": "cpu",
    "workers": 1,
    "scaling": "none",
    "scope": "step",
}
#: Names the same setting goes by, in the order they are looked for.
ALIASES = {
    "precision": ("precision", "dtype"),
    "memory_format": ("memory_format",),
    "threads": ("threads", "threads_intra"),
    "device": ("device",),
    "workers": ("workers", "worker_count", "n_workers"),
    "scaling": ("scaling", "scaling_mode"),
    "scope": ("scope", "timing_scope"),
}
PRECISIONS = {
    "fp32": "float32", "float": "float32", "float32": "float32", "torch.float32": "float32",
    "fp16": "float16", "half": "float16", "float16": "float16",
    "bf16": "bfloat16", "bfloat16": "bfloat16", "fp64": "float64", "float64": "float64",
}  # fmt: skip


def _canonical(value: Any) -> Any:
    """Numbers as floats (1 and 1.0 are one learning rate), neutral entries dropped."""
    if isinstance(value, Mapping):
        out = {str(k): _canonical(v) for k, v in value.items()}
        return {k: v for k, v in sorted(out.items()) if not _neutral(v)}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    return str(value)


def _neutral(value: Any) -> bool:
    if isinstance(value, dict | list):
        return not value
    if value is None or isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return value in ("", "none")
    return isinstance(value, int | float) and value == 0


def recipe_hash(recipe: Mapping[str, Any] | None) -> str:
    """A stable 12-hex hash of every hyper-parameter of ``recipe`` (a ``Recipe.to_dict()``).

    The dict is hashed as stored in the record, canonically: keys sorted, numbers as floats,
    entries whose value is neutral (``None``, ``False``, ``0``, ``""``, ``"none"``, empty) left
    out, so a field added to ``Recipe`` later with a neutral default (label smoothing 0.0,
    Nesterov off) does not split the series of records written before it existed.
    """
    if not recipe:
        return "none"
    text = json.dumps(_canonical(dict(recipe)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _lookup(name: str, *sources: Mapping[str, Any] | None) -> Any:
    for source in sources:
        for alias in ALIASES[name]:
            value = (source or {}).get(alias)
            if value is not None and not isinstance(value, dict | list):
                return value
    return DEFAULTS.get(name)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def series_fields(record: Mapping[str, Any], env: Mapping[str, Any] | None) -> dict[str, Any]:
    """The series key of one cell record of a run whose ``env.json`` is ``env``.

    Each setting is read from the record, then its throughput summary, then the run's settings,
    then the adapter's manifest (what the framework reported it set); absent everywhere, it has
    its :data:`DEFAULTS` value (threads: ``None``, unknown).
    """
    env = env or {}
    settings = env.get("settings") if isinstance(env.get("settings"), dict) else {}
    sources = (record, record.get("throughput") or {}, settings, record.get("manifest") or {})
    precision = str(_lookup("precision", *sources)).lower()
    recipe = record.get("recipe")
    if record.get("seq_len") is not None:  # a sweep's length point: another model input shape
        recipe = {**(recipe or {}), "seq_len": record["seq_len"]}
    if record.get("model_size") == "tiny":  # a sweep's tiny configuration: another model
        recipe = {**(recipe or {}), "model_size": "tiny"}
    return {
        "machine": str(env.get("fingerprint") or "unknown"),
        "framework": str(record.get("framework")),
        "model": str(record.get("model")),
        "dataset": str(record.get("dataset")),
        "recipe_hash": recipe_hash(recipe),
        "precision": PRECISIONS.get(precision, precision),
        "memory_format": str(_lookup("memory_format", *sources)),
        "threads": _int(_lookup("threads", *sources)),
        "device": str(_lookup("device", *sources)),
        "workers": _int(_lookup("workers", *sources)) or 1,
        "scaling": str(_lookup("scaling", *sources)),
        "scope": str(_lookup("scope", *sources)),
    }


def series_id(fields: Mapping[str, Any]) -> str:
    """A 16-hex identity of a series key (what the database and the page group on)."""
    text = json.dumps([fields.get(f) for f in FIELDS], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def recipe_difference(recipes: list[Mapping[str, Any]]) -> list[str]:
    """For each recipe, the hyper-parameters in which it differs from the others ("steps 300").

    Nested dicts (optimizer arguments) are compared entry by entry; a value absent from one
    recipe counts as different. Empty strings where recipes are equal.
    """
    flat = [_flatten(r or {}) for r in recipes]
    keys = sorted(set().union(*flat)) if flat else []
    differing = [k for k in keys if len({json.dumps(f.get(k)) for f in flat}) > 1]
    return [", ".join(f"{k} {f.get(k, '—')}" for k in differing) for f in flat]


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def describe(fields: Mapping[str, Any]) -> str:
    """Every setting of a series, for a caption or a table cell."""
    threads = fields.get("threads")
    workers = fields.get("workers") or 1
    return (
        f"recipe {fields.get('recipe_hash')}, {fields.get('precision')}, "
        f"{fields.get('memory_format')}, {threads if threads is not None else '?'} "
        f"thread{'s' * (threads != 1)}, {fields.get('device')}, {workers} "
        f"worker{'s' * (workers != 1)} (scaling {fields.get('scaling')}), "
        f"{fields.get('scope')} scope, machine {str(fields.get('machine'))[:8]}"
    )


__all__ = [
    "DEFAULTS", "FIELDS", "describe", "recipe_difference", "recipe_hash", "series_fields",
    "series_id",
]  # fmt: skip
