"""The precision view: per model and framework, what bf16 (and fp16) buys over fp32 in speed and
costs in accuracy, each with its interval, and which ops ran in which dtype.

It reads a run that planned several precisions (``bench run --precision fp32,bf16``): the cells of
one (model, dataset) at every precision are one group, so they took their turns (one contiguous
stretch each) in the same timing passes, and :func:`bench.measure.summaries.speed_ratio` pairs
pass k of the bf16 cell with pass k of the fp32 cell of the same framework, as the framework
ratios do. A record's precision is its ``precision`` field (records before it are fp32).

The accuracy delta is one seed's: its interval is ±1.96·√2·s, s the model's recorded
seed-to-seed spread of final accuracy (bench.catalog.suites.SEED_SPREAD): two runs differing only in
noise differ by about √2·s. A cell "holds" when |delta| ≤ max(2 points, s) (issue 13's bar).
"""

from __future__ import annotations

import math
from typing import Any

from bench.catalog import suites
from bench.measure import summaries, timing
from bench.report import fmt
from bench.report.cells import Record, Run, framework_order

BASE = "fp32"
ACCURACY_FLOOR = 0.02  # two points: the smallest accuracy change the view calls a change


def precision_of(record: Record) -> str:
    """The record's precision, canonical (records from before the field are fp32)."""
    from bench.zoo.precision import LEGACY

    value = str(record.get("precision") or BASE).lower()
    return LEGACY.get(value, value)


def precisions(run: Run) -> list[str]:
    from bench.zoo.precision import PRECISIONS

    found = {precision_of(r) for r in run.records}
    return [p for p in PRECISIONS if p in found] + sorted(found - set(PRECISIONS))


def label(record: Record) -> str:
    """``torch`` for fp32, ``torch@bf16`` otherwise: how the report names a cell's series."""
    p = precision_of(record)
    return str(record["framework"]) if p == BASE else f"{record['framework']}@{p}"


def precision_rows(run: Run) -> list[dict[str, Any]]:
    """One row per (model, dataset, framework, reduced precision) with an fp32 partner."""
    rows: list[dict[str, Any]] = []
    if len(precisions(run)) < 2:
        return rows
    for model, dataset in run.pairs():
        cells = run.cells(model, dataset)
        base = {str(r["framework"]): r for r in cells if precision_of(r) == BASE}
        reduced = [r for r in cells if precision_of(r) != BASE and str(r["framework"]) in base]
        reduced.sort(key=lambda r: (framework_order(str(r["framework"])), precision_of(r)))
        for r in reduced:
            rows.append(_row(model, dataset, r, base[str(r["framework"])]))
    return rows


def _row(model: str, dataset: str, r: Record, b: Record) -> dict[str, Any]:
    row: dict[str, Any] = {
        "model": model,
        "dataset": dataset,
        "framework": str(r["framework"]),
        "precision": precision_of(r),
        "speedup": fmt.DASH,
        "speedup_ci": "",
        "speedup_value": None,
        "accuracy_delta": fmt.DASH,
        "accuracy_ci": "",
        "holds": None,
        "note": "",
    }
    if r.get("status") != "ok" or b.get("status") != "ok":
        return {**row, "note": f"{precision_of(r)} {r.get('status')}, fp32 {b.get('status')}"}
    rp, bp = timing.passes(r), timing.passes(b)
    if rp and bp:
        try:
            s = summaries.speed_ratio(rp, bp)  # reduced over fp32 throughput, paired passes
            row |= {
                "speedup": fmt.times(s["ratio"]),
                "speedup_ci": fmt.interval(s["ci_low"], s["ci_high"], fmt.times),
                "speedup_value": float(s["ratio"]),
            }
        except ValueError as exc:
            row["note"] = f"no speed interval: {exc}"
    ra, ba = fmt.number(r.get("test_accuracy")), fmt.number(b.get("test_accuracy"))
    if ra is not None and ba is not None and not r.get("synthetic"):
        delta = ra - ba
        spread = suites.seed_spread(str(r.get("suite")), model, dataset, r.get("recipe"))
        row["accuracy_delta"] = f"{100 * delta:+.2f} pts"
        if spread is not None:
            half = 1.96 * math.sqrt(2) * spread
            row["accuracy_ci"] = f"±{100 * half:.2f}"
        row["holds"] = abs(delta) <= max(ACCURACY_FLOOR, spread or 0.0)
    return row


def op_dtype_rows(run: Run) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(op kinds, one row per framework@precision of the dtype each op returned), from the
    manifests' ``op_dtypes`` probes: where the frameworks' casts differ."""
    seen: dict[str, dict[str, str]] = {}
    for r in sorted(run.records, key=lambda r: framework_order(str(r["framework"]))):
        ops = (r.get("manifest") or {}).get("op_dtypes")
        if isinstance(ops, dict) and precision_of(r) != BASE:
            seen.setdefault(label(r), {str(k): str(v) for k, v in ops.items()})
    kinds = list(dict.fromkeys(k for ops in seen.values() for k in ops))
    return kinds, [(name, [ops.get(k, fmt.DASH) for k in kinds]) for name, ops in seen.items()]


def differing_ops(run: Run) -> list[str]:
    """Op kinds whose dtype differs between frameworks at the same precision."""
    kinds, rows = op_dtype_rows(run)
    out = []
    for i, kind in enumerate(kinds):
        by_precision: dict[str, set[str]] = {}
        for name, values in rows:
            by_precision.setdefault(name.split("@")[-1], set()).add(values[i])
        if any(len(v) > 1 for v in by_precision.values()):
            out.append(kind)
    return out
