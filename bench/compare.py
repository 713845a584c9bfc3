"""Did a commit regress? Per-cell verdicts between two runs, for people and for CI.

Speed: a cell is "slower" only when its median step time rose by more than the threshold AND
the rise is statistically significant AND its confidence interval excludes zero. The evidence is
the timing passes (fresh processes spread over each run, see :mod:`bench.timing`): Welch's t on
the log median step time of each pass (:func:`bench.stats.compare_passes`); runs with one pass
fall back to the raw step times (Mann-Whitney U and a bootstrap interval,
:func:`bench.stats.compare_samples`). The p-values of all cells of one comparison are adjusted
together (Holm), so the chance of any false alarm in a comparison stays at alpha however many
cells it has. Memory: peak RSS is one number per cell, so it is judged by its own, wider
threshold. Accuracy: judged against the seed-to-seed spread of that model and suite
(:data:`bench.catalog.SEED_SPREAD`), never a fixed threshold.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from bench import catalog, stats, timing

REGRESSIONS = ("slower", "hungrier", "less accurate", "failed")


@dataclass
class CellComparison:
    key: str
    verdict: str  # slower | hungrier | less accurate | failed | faster | unchanged | not comparable
    throughput_base: float | None = None
    throughput_current: float | None = None
    throughput_change: float | None = None  # fraction, + is faster
    throughput_ci: tuple[float, float] | None = None
    p_value: float | None = None  # Holm-adjusted over the comparison's cells
    speed_verdict: str | None = None
    speed_method: str | None = None
    throughput_change_raw: float | None = None  # before taking off the machine's drift
    machine_change: float | None = None  # run-wide throughput change the cell was judged against
    memory_base: int | None = None
    memory_current: int | None = None
    memory_change: float | None = None
    accuracy_base: float | None = None
    accuracy_current: float | None = None
    accuracy_verdict: str | None = None
    note: str = ""


def _enough(passes: list[list[np.ndarray]] | None) -> bool:
    return bool(passes) and sum(r.size for p in passes or [] for r in p) >= 5


def compare_cell(
    base: dict[str, Any] | None,
    current: dict[str, Any] | None,
    threshold: float,
    memory_threshold: float,
    drift: float = 0.0,
) -> CellComparison:
    """One cell's verdict, its speed p-value not yet adjusted for the other cells; ``drift`` is
    the machine's run-wide log step-time change, taken off before judging speed."""
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
    b_passes, c_passes = timing.passes(base), timing.passes(current)
    if b_passes and c_passes and _enough(b_passes) and _enough(c_passes):
        speed = stats.compare_passes(b_passes, c_passes, threshold=threshold, offset=drift)
        out.throughput_change_raw = math.exp(-stats.log_change(b_passes, c_passes)) - 1
        out.machine_change = math.exp(-drift) - 1
        # step-time ratio r → throughput change 1/r − 1 (the interval flips)
        out.throughput_change = 1 / (1 + speed["change"]) - 1
        out.throughput_ci = (1 / (1 + speed["ci_high"]) - 1, 1 / (1 + speed["ci_low"]) - 1)
        out.p_value = speed["p_value"]
        out.speed_verdict = speed["verdict"]
        out.speed_method = speed["method"]
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
    out.verdict = _overall(out, memory_threshold)
    return out


def _overall(out: CellComparison, memory_threshold: float) -> str:
    if out.speed_verdict == "slower":
        return "slower"
    if out.memory_change is not None and out.memory_change > memory_threshold:
        return "hungrier"
    if out.accuracy_verdict == "worse":
        return "less accurate"
    if out.speed_verdict == "faster":
        return "faster"
    return "unchanged"


def drift(base: list[dict[str, Any]], current: list[dict[str, Any]]) -> float:
    """The machine's run-wide log step-time change between two runs (see
    :func:`bench.stats.machine_drift`), over the cells that finished in both."""
    b = {r["key"]: r for r in base if r.get("status") == "ok"}
    changes = []
    for r in current:
        if r.get("status") != "ok" or r["key"] not in b:
            continue
        bp, cp = timing.passes(b[r["key"]]), timing.passes(r)
        if bp and cp and _enough(bp) and _enough(cp):
            changes.append(stats.log_change(bp, cp))
    return stats.machine_drift(changes)


def compare_runs(
    base: list[dict[str, Any]],
    current: list[dict[str, Any]],
    threshold: float = 0.05,
    memory_threshold: float = 0.10,
    drift_correction: bool = True,
) -> list[CellComparison]:
    """Every cell's verdict. With ``drift_correction`` each cell's speed is judged relative to
    the median change of all cells (the machine's drift); the raw change is kept beside it."""
    b = {r["key"]: r for r in base}
    c = {r["key"]: r for r in current}
    keys = list(dict.fromkeys([*c, *b]))
    shift = drift(base, current) if drift_correction else 0.0
    out = [compare_cell(b.get(k), c.get(k), threshold, memory_threshold, shift) for k in keys]
    judged = [x for x in out if x.p_value is not None and x.throughput_ci is not None]
    for x, p_adjusted in zip(judged, stats.holm([x.p_value for x in judged]), strict=True):
        x.p_value = p_adjusted
        # the verdict again, on the adjusted p (throughput: higher is better)
        x.speed_verdict = stats.change_verdict(
            x.throughput_change, x.throughput_ci[0], x.throughput_ci[1], p_adjusted, threshold,
            higher_is_better=True,
        )  # fmt: skip
        if x.verdict not in ("failed", "not comparable"):
            x.verdict = _overall(x, memory_threshold)
    return out


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
            _pct(c.throughput_change_raw), _pct(c.throughput_change), ci,
            "—" if c.p_value is None else f"{c.p_value:.2g}",
            f"{mem} ({_pct(c.memory_change)})", acc, c.note,
        ])  # fmt: skip
    return out


HEADER = ["cell", "verdict", "samples/s", "raw change", "vs machine", "95% CI", "p", "peak RSS",
          "accuracy", "note"]  # fmt: skip


def drift_line(comparisons: list[CellComparison]) -> str:
    """One sentence on the machine's run-wide drift the cells were judged against."""
    change = next((c.machine_change for c in comparisons if c.machine_change is not None), None)
    if change is None or change == 0.0:
        return "Cells are judged on their raw change (no drift correction)."
    return (
        f"All cells together ran {change:+.1%} (median over the cells): the machine's drift, or "
        "a change common to every framework and model. Each cell is judged on its change "
        "relative to that (`--no-drift-correction` judges raw changes)."
    )


def _methods(comparisons: list[CellComparison]) -> str:
    counts: dict[str, int] = {}
    for c in comparisons:
        if c.speed_method:
            name = (
                "Welch t over the timing passes"
                if c.speed_method.startswith("Welch")
                else "Mann-Whitney U and a bootstrap CI on raw step times (single-pass runs)"
            )
            counts[name] = counts.get(name, 0) + 1
    return "; ".join(f"{name} ({n} cells)" for name, n in counts.items()) or "none"


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
        f"Threshold {threshold:.0%}; a change counts when it is beyond the threshold, "
        "significant after a Holm adjustment over the cells and its 95% CI excludes 0. "
        f"Speed evidence: {_methods(comparisons)}. Accuracy against the seed-to-seed spread.",
        "",
        drift_line(comparisons),
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
