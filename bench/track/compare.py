"""Did a commit regress? Per-cell verdicts between two runs, for people and for CI.

Speed: a cell is "slower" only when its median step time rose by more than the threshold AND the
rise is statistically significant AND its confidence interval excludes zero. The evidence is the
timing passes (fresh processes spread over each run, see :mod:`bench.measure.timing`): Welch's t on
the log median step time of each pass (:func:`bench.track.verdicts.compare_passes`); runs with one
pass fall back to the raw step times (Mann-Whitney U and a bootstrap interval,
:func:`bench.track.verdicts.compare_samples`). The p-values of all cells of one comparison are
adjusted together (Holm), so the chance of any false alarm in a comparison stays at alpha however
many cells it has. Machine drift between the runs is taken off each cell: the change of the runs'
drift reference (a framework-free workload timed in every pass), or the median change over the cells
when a run has none. Memory: the peak above the framework's post-import baseline (peak RSS for older
records) is one number per cell, so it is judged by its own, wider threshold. Accuracy: judged
against the seed-to-seed spread of that model and suite (:data:`bench.catalog.suites.SEED_SPREAD`),
never a fixed threshold.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from bench.catalog import suites
from bench.measure import environment, timing
from bench.track import verdicts

REGRESSIONS = ("slower", "hungrier", "less accurate", "failed")
MIN_DRIFT_CELLS = 6  # verdicts.machine_drift's default


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
    drift_source: str | None = None  # "reference" (the framework-free workload) | "cells"
    cells_machine_change: float | None = None  # median-of-cells estimate, the cross-check
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
        speed = verdicts.compare_passes(b_passes, c_passes, threshold=threshold, offset=drift)
        out.throughput_change_raw = math.exp(-verdicts.log_change(b_passes, c_passes)) - 1
        out.machine_change = math.exp(-drift) - 1
        # step-time ratio r → throughput change 1/r − 1 (the interval flips)
        out.throughput_change = 1 / (1 + speed["change"]) - 1
        out.throughput_ci = (1 / (1 + speed["ci_high"]) - 1, 1 / (1 + speed["ci_low"]) - 1)
        out.p_value = speed["p_value"]
        out.speed_verdict = speed["verdict"]
        out.speed_method = speed["method"]
    out.throughput_base = (base.get("throughput") or {}).get("median")
    out.throughput_current = (current.get("throughput") or {}).get("median")
    out.memory_base, out.memory_current = memory_figure(base, current)
    if out.memory_base and out.memory_current:
        out.memory_change = out.memory_current / out.memory_base - 1
    out.accuracy_base, out.accuracy_current = (
        base.get("test_accuracy"),
        current.get("test_accuracy"),
    )
    if out.accuracy_base is not None and out.accuracy_current is not None:
        spread = suites.SEED_SPREAD.get((current["suite"], current["model"], current["dataset"]))
        out.accuracy_verdict = verdicts.accuracy_verdict(
            out.accuracy_base, out.accuracy_current, spread
        )
    out.verdict = _overall(out, memory_threshold)
    return out


def memory_figure(base: dict[str, Any], current: dict[str, Any]) -> tuple[int | None, int | None]:
    """The two cells' memory figures on one footing: the peak above the framework's post-import
    baseline (``memory.peak_above_baseline_bytes``, each cell in a fresh worker, so it does not
    depend on what ran before) when both records have it; else both workers' peak RSS."""
    b, c = base.get("memory") or {}, current.get("memory") or {}
    key = "peak_above_baseline_bytes"
    if b.get(key) is not None and c.get(key) is not None:
        return int(b[key]), int(c[key])
    return base.get("peak_rss_bytes"), current.get("peak_rss_bytes")


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
    """The machine's run-wide log step-time change between two runs estimated from the cells
    (see :func:`bench.track.verdicts.machine_drift`), over the cells that finished in both."""
    b = {r["key"]: r for r in base if r.get("status") == "ok"}
    changes = []
    for r in current:
        if r.get("status") != "ok" or r["key"] not in b:
            continue
        bp, cp = timing.passes(b[r["key"]]), timing.passes(r)
        if bp and cp and _enough(bp) and _enough(cp):
            changes.append(verdicts.log_change(bp, cp))
    return verdicts.machine_drift(changes)


def reference_seconds(records: list[dict[str, Any]]) -> tuple[str, list[float]] | None:
    """A run's drift reference: its workload's name and the seconds of each timing pass.

    Every record of a run carries the run's reference (``drift_reference``); records that carry
    the same list are one measurement, counted once. None when no record has one, or when the
    run's records name different workloads (then the run has no single reference)."""
    workloads: set[str] = set()
    seen: dict[tuple[float, ...], None] = {}
    for r in records:
        ref = r.get("drift_reference")
        if not isinstance(ref, dict) or not ref.get("seconds"):
            continue
        seconds = [float(s) for s in ref["seconds"] if s is not None]
        if not seconds or not all(math.isfinite(s) and s > 0 for s in seconds):
            continue
        workloads.add(str(ref.get("workload")))
        seen[tuple(seconds)] = None
    if len(workloads) != 1:
        return None
    return workloads.pop(), [s for passes in seen for s in passes]


def reference_drift(base: list[dict[str, Any]], current: list[dict[str, Any]]) -> float | None:
    """The machine's log change between two runs from their drift references: the log ratio of
    the geometric means of the reference's pass times. A fixed framework-free workload does not
    move with the code under test, so a slowdown shared by most cells (the harness, NumPy, a
    common backend) still shows, which the median over cells would take off as drift. None when
    either run has no reference or the two ran different workloads."""
    b, c = reference_seconds(base), reference_seconds(current)
    if b is None or c is None or b[0] != c[0]:
        return None
    return float(np.log(c[1]).mean() - np.log(b[1]).mean())


def compare_runs(
    base: list[dict[str, Any]],
    current: list[dict[str, Any]],
    threshold: float = 0.05,
    memory_threshold: float = 0.10,
    drift_correction: bool = True,
) -> list[CellComparison]:
    """Every cell's verdict. With ``drift_correction`` each cell's speed is judged relative to
    the machine's drift: the change of the runs' drift reference when both have one, else the
    median change of all cells; the raw change is kept beside it."""
    b = {r["key"]: r for r in base}
    c = {r["key"]: r for r in current}
    keys = list(dict.fromkeys([*c, *b]))
    cells_shift = drift(base, current)
    ref_shift = reference_drift(base, current)
    if not drift_correction:
        shift, source = 0.0, None
    elif ref_shift is not None:
        shift, source = ref_shift, "reference"
    else:
        shift, source = cells_shift, "cells"
    out = [compare_cell(b.get(k), c.get(k), threshold, memory_threshold, shift) for k in keys]
    for x in out:
        if x.machine_change is not None:
            x.drift_source = source
            x.cells_machine_change = math.exp(-cells_shift) - 1
    judged = [x for x in out if x.p_value is not None and x.throughput_ci is not None]
    for x, p_adjusted in zip(judged, verdicts.holm([x.p_value for x in judged]), strict=True):
        x.p_value = p_adjusted
        # the verdict again, on the adjusted p (throughput: higher is better)
        x.speed_verdict = verdicts.change_verdict(
            x.throughput_change, x.throughput_ci[0], x.throughput_ci[1], p_adjusted, threshold,
            higher_is_better=True,
        )  # fmt: skip
        if x.verdict not in ("failed", "not comparable"):
            x.verdict = _overall(x, memory_threshold)
    return out


def regressed(comparisons: list[CellComparison]) -> list[CellComparison]:
    return [c for c in comparisons if c.verdict in REGRESSIONS]


def machine_difference(base_env: dict[str, Any], current_env: dict[str, Any]) -> str | None:
    """Why two runs' machines differ (CPU model, cores, memory, GPUs), or None. Software
    versions are not the machine: see :func:`software_changes`."""
    diffs = environment.machine_difference(base_env, current_env)
    return ", ".join(diffs) if diffs else None


def software_changes(base_env: dict[str, Any], current_env: dict[str, Any]) -> list[str]:
    """The framework/library versions that changed, e.g. ``["torch 2.12.0 → 2.13.0"]``."""
    return environment.software_changes(base_env, current_env)


def software_line(changes: list[str]) -> str | None:
    if not changes:
        return None
    return "Software changed: " + ", ".join(changes) + "."


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


HEADER = ["cell", "verdict", "samples/s", "raw change", "vs machine", "95% CI", "p", "memory",
          "accuracy", "note"]  # fmt: skip


def drift_line(comparisons: list[CellComparison]) -> str:
    """One sentence on the machine's run-wide drift the cells were judged against, with the
    median-of-cells estimate beside it as a cross-check."""
    judged = next((c for c in comparisons if c.machine_change is not None), None)
    if judged is None or judged.drift_source is None:
        return "Cells are judged on their raw change (no drift correction)."
    cells = judged.cells_machine_change
    # verdicts.machine_drift gives exactly 0 when there are too few cells to estimate it
    few = f"too few cells (under {MIN_DRIFT_CELLS}) for their median"
    if judged.drift_source == "reference":
        cross = f"the median over the cells moved {_pct(cells)}" if cells else few
        return (
            f"Machine drift {judged.machine_change:+.1%} in throughput, from the drift reference "
            f"(a fixed framework-free workload timed in every pass); {cross} (cross-check: a "
            "gap between the two is a change common to the cells, not the machine). Each cell "
            "is judged on its change relative to the reference (`--no-drift-correction` judges "
            "raw changes)."
        )
    if not judged.machine_change:
        return (
            f"No drift reference in one run and {few}: cells are judged on their raw change, "
            "machine drift included."
        )
    return (
        f"All cells together ran {judged.machine_change:+.1%} (median over the cells; one run "
        "has no drift reference, so the median stands in for it): the machine's drift, or a "
        "change common to every framework and model. Each cell is judged on its change "
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
    comparisons: list[CellComparison],
    base: str,
    current: str,
    threshold: float,
    software: list[str] | None = None,
) -> str:
    bad = regressed(comparisons)
    lines = [f"### bench compare: `{base}` → `{current}`", ""]
    if software:
        lines += [f"**{software_line(software)}**", ""]
    lines += [
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


def to_json(
    comparisons: list[CellComparison], base: str, current: str, software: list[str] | None = None
) -> str:
    judged = next((c for c in comparisons if c.machine_change is not None), None)
    return json.dumps(
        {
            "base": base,
            "current": current,
            "software_changes": software or [],
            "drift": None
            if judged is None
            else {
                "source": judged.drift_source,
                "machine_change": judged.machine_change,
                "cells_machine_change": judged.cells_machine_change,
            },
            "regressed": [c.key for c in regressed(comparisons)],
            "cells": [asdict(c) for c in comparisons],
        },
        indent=2,
    )
