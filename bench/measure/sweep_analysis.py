"""A sweep's records turned into curves: per model, each framework's points along the batch,
thread and length axes, the fixed vs per-sample cost fit (:mod:`bench.measure.cost_fit`), the
ratio curves and crossovers (:mod:`bench.measure.crossovers`) and the thread scaling.

Read by the console (:mod:`bench.track.sweep_text`) and the report (:mod:`bench.report.sweeps`),
from plain records: a record is a throughput point when it carries ``sweep``.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import Any

import numpy as np

from bench.measure import cost_fit, crossovers, memory, summaries, timing
from bench.measure.intervals import t_quantile

Record = dict[str, Any]


def points(records: list[Record]) -> list[Record]:
    """The throughput points of a run that finished with at least one timed pass."""
    return [r for r in records if r.get("sweep") and r.get("status") == "ok"
            and timing.timing_passes(r)]  # fmt: skip


def step_passes(record: Record) -> list[float]:
    """One step-seconds figure per timing pass (its windows' median step)."""
    return [float(x) for x in summaries.pass_medians(timing.timing_passes(record))]


def _curves(records: list[Record], axis: str) -> dict[tuple, dict[str, list[Record]]]:
    """{(model, dataset, the other axes' values): {framework: records along ``axis``}} for every
    line with at least two values of ``axis``."""
    other = [a for a in ("batch_size", "threads", "seq_len") if a != axis]
    lines: dict[tuple, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for r in points(records):
        key = (r["model"], r["dataset"], *(r["sweep"].get(a) for a in other))
        lines[key][r["framework"]].append(r)
    out = {}
    for key, by_fw in lines.items():
        by_fw = {fw: sorted(rs, key=lambda r: r["sweep"][axis]) for fw, rs in by_fw.items()}
        if any(len(rs) >= 2 for rs in by_fw.values()):
            out[key] = by_fw
    return out


def batch_fit_row(framework: str, rs: list[Record]) -> dict[str, Any]:
    """The fit ``a + c·B`` of one framework's batch line, a in ms and c in µs per sample."""
    xs = [r["sweep"]["batch_size"] for r in rs]
    row: dict[str, Any] = {"framework": framework, "batches": xs}
    if len(xs) < cost_fit.MIN_POINTS:
        return {**row, "note": f"{len(xs)} points: no fit (needs {cost_fit.MIN_POINTS})"}
    passes = [step_passes(r) for r in rs]
    f, dropped = cost_fit.linear_range(xs, passes)
    (a_lo, a_hi), (c_lo, c_hi) = f.interval(0), f.interval(1)
    return {
        **row,
        "a_ms": 1e3 * f.coef[0], "a_ms_ci": (1e3 * a_lo, 1e3 * a_hi),
        "c_us": 1e6 * f.coef[1], "c_us_ci": (1e6 * c_lo, 1e6 * c_hi),
        "range": (float(f.x.min()), float(f.x.max())),
        "residuals": [float(v) for v in f.residuals],
        "fitted_batches": [float(v) for v in f.x],
        "bends": cost_fit.bend_words(dropped),
        "dropped": dropped,
        "fit": f,
        "holdout": holdout_check(xs, passes, [float(v) for v in f.x]),
        "note": "",
    }  # fmt: skip


def holdout_check(
    xs: list[int], passes: list[list[float]], fitted: list[float]
) -> dict[str, Any] | None:
    """The fit checked on a point it did not see: the interior batch of the linear range
    nearest its geometric middle is left out, the line refitted on the rest of the range and
    the point predicted (:func:`bench.measure.cost_fit.holdout`). None with under 4 points."""
    inside = [i for i, x in enumerate(xs) if float(x) in fitted]
    if len(inside) < 4:
        return None
    middle = float(np.exp(np.mean(np.log([xs[i] for i in inside]))))
    drop = min(inside[1:-1], key=lambda i: abs(np.log(xs[i] / middle)))
    return cost_fit.holdout([xs[i] for i in inside], [passes[i] for i in inside],
                            inside.index(drop))  # fmt: skip


def seq_fit_row(framework: str, rs: list[Record]) -> dict[str, Any]:
    """The fit ``a + b·T + c·T²`` of one framework's length line, and the dominant term."""
    xs = [r["sweep"]["seq_len"] for r in rs]
    row: dict[str, Any] = {"framework": framework, "lengths": xs}
    if len(xs) < 4:
        return {**row, "note": f"{len(xs)} lengths: no quadratic fit (needs 4)"}
    f = cost_fit.fit(xs, [step_passes(r) for r in rs], terms=("1", "x", "x2"))
    return {
        **row, "fit": f, "a_ms": 1e3 * f.coef[0], "a_ms_ci": tuple(1e3 * v for v in f.interval(0)),
        "b_us": 1e6 * f.coef[1], "b_us_ci": tuple(1e6 * v for v in f.interval(1)),
        "c_ns": 1e9 * f.coef[2], "c_ns_ci": tuple(1e9 * v for v in f.interval(2)),
        "dominant": dict(zip(xs, cost_fit.dominant_terms(f, xs), strict=True)),
        "residuals": [float(v) for v in f.residuals], "note": "",
    }  # fmt: skip


def ratio_rows(by_fw: dict[str, list[Record]], axis: str, unit: str) -> list[dict[str, Any]]:
    """Every framework pair's ratio curve along ``axis`` and its crossovers in words."""
    rows = []
    for a, b in combinations(sorted(by_fw), 2):
        ra = {r["sweep"][axis]: r for r in by_fw[a]}
        rb = {r["sweep"][axis]: r for r in by_fw[b]}
        xs = sorted(set(ra) & set(rb))
        curve = crossovers.ratio_curve(
            xs, [timing.timing_passes(ra[x]) for x in xs], [timing.timing_passes(rb[x]) for x in xs]
        )
        rows.append({"a": a, "b": b, "curve": curve,
                     "words": crossovers.crossover_words(curve, a, b, unit)})  # fmt: skip
    return rows


def thread_rows(by_fw: dict[str, list[Record]]) -> list[dict[str, Any]]:
    """Per framework: throughput at each thread count, speed-up over the fewest threads and
    parallel efficiency (speed-up / threads), each with a t interval on the passes' logs
    (the thread counts ran in separate passes, so unpaired)."""
    rows = []
    for fw, rs in sorted(by_fw.items()):
        base = rs[0]
        lb = np.log(base["sweep"]["batch_size"] / np.asarray(step_passes(base)))
        for r in rs:
            lt = np.log(r["sweep"]["batch_size"] / np.asarray(step_passes(r)))
            diff = float(lt.mean() - lb.mean())
            se = float(np.sqrt(_var(lt) / len(lt) + _var(lb) / len(lb)))
            if r is base:  # the reference itself: 1 by definition, no interval
                se = 0.0
            q = t_quantile(0.95, max(len(lt) + len(lb) - 2, 1))
            ratio = r["sweep"]["threads"] / base["sweep"]["threads"]
            rows.append({
                "framework": fw, "threads": r["sweep"]["threads"],
                "throughput": float(np.exp(lt.mean())),
                "speedup": np.exp(diff),
                "speedup_ci": (np.exp(diff - q * se), np.exp(diff + q * se)),
                "efficiency": np.exp(diff) / ratio,
                "efficiency_ci": (np.exp(diff - q * se) / ratio, np.exp(diff + q * se) / ratio),
            })  # fmt: skip
    return rows


def _var(x: np.ndarray) -> float:
    return float(np.var(x, ddof=1)) if len(x) > 1 else 0.0


def memory_point(r: Record) -> dict[str, Any] | None:
    """A point's memory figure (:data:`bench.run.sweep_runner.MEMORY_NAME`)."""
    return memory.gated_figure(r)


def _order(item: tuple[tuple, Any]) -> tuple:
    """Lines in the order model, dataset, then the other axes numerically (None first)."""
    return tuple((0, 0, "") if v is None else (1, v, "") if isinstance(v, int | float)
                 else (2, 0, str(v)) for v in item[0])  # fmt: skip


def analyse(records: list[Record]) -> dict[str, Any]:
    """Everything the console and the report show of a sweep, per line of each axis."""
    out: dict[str, Any] = {"batch": [], "threads": [], "seq_len": []}
    for (model, dataset, threads, seq_len), by_fw in sorted(
        _curves(records, "batch_size").items(), key=_order
    ):
        out["batch"].append({
            "model": model, "dataset": dataset, "threads": threads, "seq_len": seq_len,
            "lines": by_fw, "fits": [batch_fit_row(fw, rs) for fw, rs in sorted(by_fw.items())],
            "ratios": ratio_rows(by_fw, "batch_size", "batch"),
        })  # fmt: skip
    for (model, dataset, batch, seq_len), by_fw in sorted(
        _curves(records, "threads").items(), key=_order
    ):
        out["threads"].append({"model": model, "dataset": dataset, "batch_size": batch,
                               "seq_len": seq_len, "rows": thread_rows(by_fw)})  # fmt: skip
    for (model, dataset, batch, threads), by_fw in sorted(
        _curves(records, "seq_len").items(), key=_order
    ):
        out["seq_len"].append({
            "model": model, "dataset": dataset, "batch_size": batch, "threads": threads,
            "fits": [seq_fit_row(fw, rs) for fw, rs in sorted(by_fw.items())],
            "ratios": ratio_rows(by_fw, "seq_len", "length"),
        })  # fmt: skip
    return out
