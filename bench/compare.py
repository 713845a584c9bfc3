"""Did a commit regress? Per-cell verdicts between two runs, for people and for CI.

Speed: a cell is "slower" only when the median step time rose by more than the threshold AND
the rise is statistically significant on the raw step times (Mann-Whitney U, and a bootstrap
interval that excludes zero) — see :func:`bench.stats.compare_samples`. Memory: peak RSS is one
number per cell, so it is judged by its own, wider threshold. Accuracy: judged against the
seed-to-seed spread of that model and suite (:data:`bench.catalog.SEED_SPREAD`), never a fixed
threshold.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from bench import catalog, stats

REGRESSIONS = ("slower", "hungrier", "less accurate", "failed")


@dataclass
class CellComparison:
    key: str
    verdict: str  # slower | hungrier | less accurate | failed | faster | unchanged | not comparable
    throughput_base: float | None = None
    throughput_current: float | None = None
    throughput_change: float | None = None  # fraction, + is faster
    throughput_ci: tuple[float, float] | None = None
    p_value: float | None = None
    speed_verdict: str | None = None
    memory_base: int | None = None
    memory_current: int | None = None
    memory_change: float | None = None
    accuracy_base: float | None = None
    accuracy_current: float | None = None
    accuracy_verdict: str | None = None
    note: str = ""


def _timed_steps(record: dict[str, Any]) -> np.ndarray:
    times = np.asarray(record.get("step_times_s") or [], dtype=float)
    return times[int(record.get("warmup_steps") or 0) :]


def compare_cell(
    base: dict[str, Any] | None,
    current: dict[str, Any] | None,
    threshold: float,
    memory_threshold: float,
) -> CellComparison:
    key = (current or base or {}).get("key", "?")
    if base is None or current is None:
        which = "base" if base is None else "current"
        return CellComparison(key, "not comparable", note=f"not in the {which} run")
    if current["status"] != "ok":
        verdict = "failed" if base["status"] == "ok" else "not comparable"
        return CellComparison(
            key, verdict, note=f"current: {current['status']}: {current.get('error')}"
        )
    if base["status"] != "ok":
        return CellComparison(key, "not comparable", note=f"base: {base['status']}")
    if base.get("recipe") != current.get("recipe") or base.get("seed") != current.get("seed"):
        return CellComparison(key, "not comparable", note="different recipe or seed")
    out = CellComparison(key, "unchanged")
    b_steps, c_steps = _timed_steps(base), _timed_steps(current)
    if len(b_steps) >= 5 and len(c_steps) >= 5:
        speed = stats.compare_samples(b_steps, c_steps, threshold=threshold)
        # step-time ratio r → throughput change 1/r − 1 (the interval flips)
        out.throughput_change = 1 / (1 + speed["change"]) - 1
        out.throughput_ci = (1 / (1 + speed["ci_high"]) - 1, 1 / (1 + speed["ci_low"]) - 1)
        out.p_value = speed["p_value"]
        out.speed_verdict = speed["verdict"]
    out.throughput_base = (base.get("throughput") or {}).get("median")
    out.throughput_current = (current.get("throughput") or {}).get("median")
    out.memory_base, out.memory_current = base.get("peak_rss_bytes"), current.get("peak_rss_bytes")
    if out.memory_base and out.memory_current:
        out.memory_change = out.memory_current / out.memory_base - 1
    out.accuracy_base, out.accuracy_current = (
        base.get("test_accuracy"),
        current.get("test_accuracy"),
    )
    if out.accuracy_base is not None and out.accuracy_current is not None:
        spread = catalog.SEED_SPREAD.get((current["suite"], current["model"], current["dataset"]))
        out.accuracy_verdict = stats.accuracy_verdict(
            out.accuracy_base, out.accuracy_current, spread
        )
    if out.speed_verdict == "slower":
        out.verdict = "slower"
    elif out.memory_change is not None and out.memory_change > memory_threshold:
        out.verdict = "hungrier"
    elif out.accuracy_verdict == "worse":
        out.verdict = "less accurate"
    elif out.speed_verdict == "faster":
        out.verdict = "faster"
    return out


def compare_runs(
    base: list[dict[str, Any]],
    current: list[dict[str, Any]],
    threshold: float = 0.05,
    memory_threshold: float = 0.10,
) -> list[CellComparison]:
    b = {r["key"]: r for r in base}
    c = {r["key"]: r for r in current}
    keys = list(dict.fromkeys([*c, *b]))
    return [compare_cell(b.get(k), c.get(k), threshold, memory_threshold) for k in keys]


def regressed(comparisons: list[CellComparison]) -> list[CellComparison]:
    return [c for c in comparisons if c.verdict in REGRESSIONS]


def machine_difference(base_env: dict[str, Any], current_env: dict[str, Any]) -> str | None:
    """Why two runs' machines differ (CPU, cores, GPUs, framework versions), or None."""
    if base_env.get("fingerprint") == current_env.get("fingerprint"):
        return None
    diffs = []
    for field in ("cpu_model", "logical_cores", "gpus", "packages"):
        if base_env.get(field) != current_env.get(field):
            diffs.append(field.replace("_", " "))
    return ", ".join(diffs) or "machine fingerprint"


# -- output --------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:+.1%}"


def _num(x: float | None, fmt: str = ",.0f") -> str:
    return "—" if x is None else f"{x:{fmt}}"


def rows(comparisons: list[CellComparison]) -> list[list[str]]:
    out = []
    for c in comparisons:
        ci = (
            "—"
            if c.throughput_ci is None
            else f"[{c.throughput_ci[0]:+.1%}, {c.throughput_ci[1]:+.1%}]"
        )
        mem = "—" if c.memory_current is None else f"{c.memory_current / 2**20:,.0f} MiB"
        acc = (
            "—"
            if c.accuracy_current is None or c.accuracy_base is None
            else f"{c.accuracy_base:.1%} → {c.accuracy_current:.1%}"
        )
        out.append([
            c.key, c.verdict, f"{_num(c.throughput_base)} → {_num(c.throughput_current)}",
            _pct(c.throughput_change), ci, "—" if c.p_value is None else f"{c.p_value:.2g}",
            f"{mem} ({_pct(c.memory_change)})", acc, c.note,
        ])  # fmt: skip
    return out


HEADER = ["cell", "verdict", "samples/s", "change", "95% CI", "p", "peak RSS", "accuracy", "note"]


def to_markdown(
    comparisons: list[CellComparison], base: str, current: str, threshold: float
) -> str:
    bad = regressed(comparisons)
    lines = [
        f"### bench compare: `{base}` → `{current}`",
        "",
        (f"**{len(bad)} regression(s)**: " + ", ".join(f"`{c.key}` ({c.verdict})" for c in bad))
        if bad
        else "**No regression.**",
        "",
        f"Threshold {threshold:.0%}, significance by Mann-Whitney U and a bootstrap CI on raw "
        "step times; accuracy against the seed-to-seed spread.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    for row in rows(comparisons):
        cells = [v.replace("|", "\\|") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_json(comparisons: list[CellComparison], base: str, current: str) -> str:
    return json.dumps(
        {
            "base": base,
            "current": current,
            "regressed": [c.key for c in regressed(comparisons)],
            "cells": [asdict(c) for c in comparisons],
        },
        indent=2,
    )
