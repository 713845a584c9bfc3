"""The summary table: one row per cell, grouped by (model, dataset), as display strings.

The numbers are gathered into a pandas DataFrame first, so derived columns (speed relative to
the fastest framework of the same model, achieved GFLOP/s, share of the machine's peak) are
computed once, column-wise, from the same values the figures use.

A reference cell (``sklearn``, :mod:`bench.catalog.frameworks`) is a row like any other but
reads "reference" where the others have their speed relative to the fastest, is no one's
fastest, and brings a second row: its model fitted to the optimum (accuracy and fit time).

Memory is shown as the figure ``bench compare`` gates on (:func:`bench.measure.memory.gated_figure`:
the peak above the framework's post-import baseline over the training steps, one fresh worker per
timing pass, with its 95% interval), the training pass's whole-run peak and the baseline beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from bench.catalog.suites import ACCURACY_TARGETS, MODEL_DESCRIPTIONS, PAPER_ACCURACY
from bench.measure.memory import figure_note, gated_figure
from bench.report import fmt, sequence
from bench.report.cells import (
    Record,
    Run,
    achieved_gflops,
    get,
    is_reference,
    is_synthetic,
    peak_gflops,
)

#: Statuses whose measurements are shown as results (a diverged cell's timings are real too).
MEASURED = ("ok", "diverged")
#: A gated memory figure's value and the ends of its interval (bytes).
SPAN = ("bytes", "low", "high")


@dataclass(frozen=True)
class Group:
    """One (model, dataset) block of the summary table."""

    model: str
    dataset: str
    description: str
    paper: str  # the paper's test accuracy, or "" when it reports none for this pair
    target: str  # the time-to-accuracy target, or ""
    rows: list[dict[str, Any]]


def numbers(run: Run) -> pd.DataFrame:
    """One row per record with the numeric columns the table and figures share.

    ``peak_rss`` and ``baseline_rss`` (bytes) are the training pass's whole-run peak and the
    post-import baseline; ``memory_mib`` with ``memory_ci_low`` and ``memory_ci_high`` (MiB, NaN
    without an interval), ``memory_n`` (samples) and ``memory_label`` are the gated figure."""
    rows = []
    for r in run.records:
        peak = peak_gflops(r, run.env)
        achieved = achieved_gflops(r)
        figure = memory_figure(r) or {}
        in_mib = {k: None if figure.get(k) is None else figure[k] / fmt.MIB for k in SPAN}
        rows.append(
            {
                "key": r["key"],
                "model": r["model"],
                "dataset": r["dataset"],
                "framework": r["framework"],
                "status": r["status"],
                "reference": is_reference(r),
                "throughput": fmt.number(get(r, "throughput", "median")),
                "ci_low": fmt.number(get(r, "throughput", "ci_low")),
                "ci_high": fmt.number(get(r, "throughput", "ci_high")),
                "peak_rss": fmt.number(cell_peak(r)),
                "baseline_rss": fmt.number(cell_baseline(r)),
                "gflops": achieved,
                "peak_gflops": peak,
                "memory_mib": in_mib["bytes"],
                "memory_ci_low": in_mib["low"],
                "memory_ci_high": in_mib["high"],
                "memory_n": figure.get("n"),
                "memory_label": figure.get("label", ""),
            }
        )
    columns = ["key", "model", "dataset", "framework", "status", "reference", "throughput"]
    columns += ["ci_low"]
    columns += ["ci_high", "peak_rss", "baseline_rss", "gflops", "peak_gflops", "memory_mib"]
    columns += ["memory_ci_low", "memory_ci_high", "memory_n", "memory_label"]
    df = pd.DataFrame(rows, columns=columns)
    for col in columns[6:-1]:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    measured = df["status"].isin(MEASURED) & ~df["reference"].astype(bool)
    fastest = df["throughput"].where(measured).groupby([df["model"], df["dataset"]])
    df["relative"] = df["throughput"].where(measured) / fastest.transform("max")
    df["pct_peak"] = df["gflops"] / df["peak_gflops"]
    return df.set_index("key")


def summary(run: Run) -> list[Group]:
    """The summary table's groups, every value already formatted (missing → "—")."""
    df = numbers(run)
    groups = []
    for model, dataset in run.pairs():
        paper = PAPER_ACCURACY.get(model) if dataset == "mnist1d" else None
        target = ACCURACY_TARGETS.get((model, dataset))
        rows = []
        for r in run.cells(model, dataset):
            rows.append(_row(r, df.loc[r["key"]]))
            if is_reference(r) and isinstance(r.get("optimum"), dict):
                rows.append(optimum_row(r, rows[-1]))
        groups.append(
            Group(
                model=model,
                dataset=dataset,
                description=MODEL_DESCRIPTIONS.get(model, ""),
                paper=fmt.percent(paper, 0) if paper is not None else "",
                target=fmt.percent(target, 0) if target is not None else "",
                rows=rows,
            )
        )
    return groups


def optimum_row(r: Record, stepped: dict[str, Any]) -> dict[str, Any]:
    """A reference cell's second row: its model fitted to the optimum on the same split. Only
    accuracy and the fit's time and convergence; nothing per step, nothing ranked."""
    o = r["optimum"]
    iterations = fmt.integer(o.get("n_iter"))
    state = "converged" if o.get("converged") is True else "not converged"
    blank = {k: fmt.DASH for k in ("throughput", "params", "first_step", "latency", "gflops")}
    blank |= {k: fmt.DASH for k in ("memory", "time_to_accuracy", "inference_latency")}
    blank |= {k: "" for k in ("throughput_ci", "half_width", "memory_ci", "memory_note", "tokens")}
    return {
        **stepped,
        **blank,
        "form": f"{o.get('estimator', 'optimum')} ({o.get('solver', '')}, C={o.get('C')})",
        "note": f"fit {fmt.seconds(o.get('fit_seconds'))} · {iterations} iterations · {state}",
        "accuracy": fmt.percent(o.get("test_accuracy")),
        "best_accuracy": fmt.percent(o.get("test_accuracy")),
        "memory_whole": "",
        "memory_whole_parts": [],
        "target": "",
        "inference_throughput": "",
        "pct_peak": "",
        "lm": "",
        "error": "",
        "diverged_at_step": None,
    }


def _row(r: Record, n: pd.Series) -> dict[str, Any]:
    latency = r.get("step_latency_ms")
    p = [fmt.fixed(get(latency, q), 2) for q in ("p50", "p90", "p99")]
    relative = fmt.number(n["relative"])
    reference = is_reference(r)
    return {
        "framework": r["framework"],
        "tier": r.get("tier") or "",
        "reference": reference,
        "form": "MLPClassifier Adam steps (partial_fit)" if reference else "",
        "note": "",
        "status": r["status"],
        "error": r.get("error") or "",
        "diverged_at_step": r.get("diverged_at_step"),
        "synthetic": is_synthetic(r),
        # random labels: a synthetic cell's accuracy is meaningless, so it is not shown as one
        "accuracy": "n/a (synthetic)" if is_synthetic(r) else fmt.percent(r.get("test_accuracy")),
        "best_accuracy": fmt.DASH if is_synthetic(r) else fmt.percent(r.get("best_test_accuracy")),
        "throughput": fmt.sig(n["throughput"], 4),
        "throughput_ci": fmt.interval(n["ci_low"], n["ci_high"], lambda v: fmt.sig(v, 4)),
        "half_width": _half_width(r),
        "relative": "reference" if reference else fmt.times(relative),
        "fastest": not reference and relative is not None and relative >= 1.0,
        "peak_rss": _memory(r),  # the whole run: baseline + peak above it
        **_gated(r),
        "params": fmt.integer(r.get("param_count")),
        "first_step": fmt.seconds(r.get("time_to_first_step_s")),
        "time_to_accuracy": _time_to_accuracy(r),
        "target": fmt.percent(r.get("accuracy_target"), 0)
        if fmt.number(r.get("accuracy_target")) is not None
        else "",
        "latency": " / ".join(p),
        "inference_latency": " / ".join(
            fmt.fixed(get(r.get("inference"), "batch1_latency_ms", q), 3) for q in ("p50", "p99")
        ),
        "inference_throughput": fmt.sig(get(r.get("inference"), "large_batch", "median"), 4),
        "gflops": fmt.sig(n["gflops"], 3),
        "pct_peak": fmt.percent(n["pct_peak"]) if fmt.number(n["pct_peak"]) is not None else "",
        "tokens": sequence.tokens_line(r),  # sequence models: tokens/s
        "lm": sequence.lm_line(r),  # language models: loss, perplexity, vs the entropy rate
    }


def cell_baseline(r: Record) -> Any:
    """The framework's post-import RSS the cell's figure stands on."""
    return get(r, "memory", "baseline_bytes") or r.get("baseline_rss_bytes")


def cell_peak(r: Record) -> Any:
    """Baseline + the cell's own peak above it (fresh worker); older records: the worker's
    peak RSS."""
    above, base = get(r, "memory", "peak_above_baseline_bytes"), cell_baseline(r)
    if fmt.number(above) is not None and fmt.number(base) is not None:
        return fmt.number(base) + fmt.number(above)
    return r.get("peak_rss_bytes")


def _memory(r: Record) -> str:
    """The cell's whole-run memory as baseline + model/activations in MiB (older records: the
    worker's peak RSS)."""
    above = get(r, "memory", "peak_above_baseline_bytes")
    if fmt.number(above) is None or fmt.number(cell_baseline(r)) is None:
        return fmt.mib(r.get("peak_rss_bytes"))
    return f"{fmt.mib(cell_baseline(r))} + {fmt.mib(above)}"


def memory_figure(r: Record) -> dict[str, Any] | None:
    """The record's gated memory figure (:func:`bench.measure.memory.gated_figure`) with finite
    numbers and both ends of its interval or neither; None if it has none or it is malformed."""
    try:
        figure = gated_figure(r)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    if figure is None or fmt.number(figure["bytes"]) is None:
        return None
    low, high = fmt.number(figure["low"]), fmt.number(figure["high"])
    if low is None or high is None:
        low = high = None
    return {**figure, "low": low, "high": high}


def _gated(r: Record) -> dict[str, Any]:
    """The summary's memory cell: the gated figure, its interval or what it is instead
    (:func:`bench.measure.memory.figure_note`), and a line with the whole-run peak on its
    baseline (``memory_whole``, in parts that each stay on one line)."""
    figure = memory_figure(r)
    base, above = cell_baseline(r), get(r, "memory", "peak_above_baseline_bytes")
    parts = []
    if fmt.number(base) is not None and fmt.number(above) is not None:
        parts = [f"baseline {fmt.mib(base)}", f"whole run {fmt.mib(above)} MiB"]
    elif (worker := r.get("peak_rss_bytes")) and (figure or {}).get("label") != "peak RSS":
        parts = [f"worker peak RSS {fmt.mib(worker)} MiB"]
    out = {"memory_whole": " + ".join(parts), "memory_whole_parts": parts}
    if figure is None:
        return {"memory": fmt.DASH, "memory_ci": "", "memory_note": "", **out}
    return {
        "memory": fmt.mib(figure["bytes"], 1),
        "memory_ci": fmt.interval(figure["low"], figure["high"], lambda v: fmt.mib(v, 1)),
        "memory_note": figure_note(figure),
        **out,
    }


def _half_width(r: Record) -> str:
    """The interval's relative half-width, "±2.1%": how far to trust the median."""
    half = fmt.number(get(r, "throughput", "relative_half_width"))
    return "" if half is None else f"±{100 * half:.1f}%"


def _time_to_accuracy(r: Record) -> str:
    """Seconds to the target; "not reached" only when the record says so (key present, None)."""
    value = fmt.number(r.get("time_to_accuracy_s"))
    if value is not None:
        return fmt.seconds(value)
    reached_never = (
        "time_to_accuracy_s" in r
        and r["status"] in MEASURED
        and fmt.number(r.get("accuracy_target")) is not None
        and bool(r.get("curve"))
    )
    return "not reached" if reached_never else fmt.DASH


def counts(run: Run) -> dict[str, int]:
    """How many cells ended in each status, for the header."""
    out: dict[str, int] = {}
    for r in run.records:
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out
