"""The report's charts, drawn with matplotlib's object API (no pyplot, no global backend).

Each function returns a :class:`matplotlib.figure.Figure`; :func:`figures` turns them into
inline SVG. A framework has one colour everywhere (bars, curves, the tables' swatches), so a
reader can follow it from chart to chart without reading legends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from bench.catalog.suites import ACCURACY_TARGETS, PAPER_ACCURACY
from bench.report import fmt
from bench.report.cells import Record, Run
from bench.report.svg import style, to_svg
from bench.report.tables import MEASURED

#: Fixed colours for the registered variants; a family's tuned variant is a darker shade.
KNOWN_COLORS = {
    "torch": "#e4572e",
    "torch:compile": "#a23b1f",
    "tf": "#f3a712",
    "tf:xla": "#b67d0c",
    "keras": "#17a398",
    "keras:torch": "#3066be",
    "keras:jax": "#7b4fa3",
}
_LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1}
_SPARE_COLORS = ("#5c6b73", "#c03f7a", "#6a994e", "#8d6a9f", "#3d5a80", "#b5838d")


@dataclass(frozen=True)
class FigureView:
    id: str
    title: str
    caption: str
    svg: Markup


def framework_colors(frameworks: list[str]) -> dict[str, str]:
    """A colour per framework: fixed for known variants, spare colours in order otherwise."""
    spare = iter(_SPARE_COLORS * (1 + len(frameworks) // len(_SPARE_COLORS)))
    return {f: KNOWN_COLORS[f] if f in KNOWN_COLORS else next(spare) for f in frameworks}


def figures(run: Run, numbers: pd.DataFrame, colors: dict[str, str]) -> list[FigureView]:
    """Every chart of the page, in page order, as inline SVG (none for a run with no cells)."""
    if not run.records:
        return []
    out = [
        FigureView(
            "fig-throughput",
            "Training throughput",
            "Median samples per second (warm-up excluded), combined over the timing passes; "
            "error bars are the 95% interval over passes. Higher is better.",
            _svg(lambda: throughput_chart(run, numbers, colors), "fig-throughput"),
        ),
        FigureView(
            "fig-memory",
            "Memory",
            "What bench compare gates on: each cell's peak resident set above its framework's "
            "post-import baseline over the training steps (the model, optimizer state, "
            "activations and data, not the import), one sample per timing pass, each in a fresh "
            "worker (on an accelerator: the allocator's peak); the bar is their geometric mean, "
            "the error bar its 95% interval. Hatched bars have no interval: one sample, or, for "
            "a cell without timing passes, the training pass's whole-run peak above the baseline "
            "(older records: the worker's whole peak RSS); the summary table says which, with "
            "the baseline. Lower is better.",
            _svg(lambda: memory_chart(run, numbers, colors), "fig-memory"),
        ),
    ]
    for i, (model, dataset) in enumerate(run.pairs()):
        cells = [c for c in run.cells(model, dataset) if _curve(c)]
        if not cells:
            continue
        fig_id = f"fig-curves-{i}"
        out.append(
            FigureView(
                fig_id,
                f"{model} · {dataset}",
                "Test accuracy against optimizer steps and against training seconds "
                "(evaluation excluded), and training loss against steps.",
                _svg(lambda m=model, d=dataset: curves_chart(run, m, d, colors), fig_id),
            )
        )
    return out


def _svg(build: Any, fig_id: str) -> Markup:
    with style():
        fig = build()
    return to_svg(fig, fig_id)


# --------------------------------------------------------------------------------------------
# bar charts


def _bar_layout(run: Run) -> tuple[list[tuple[str, str]], list[str], float]:
    pairs, frameworks = run.pairs(), run.frameworks()
    width = 0.8 / max(1, len(frameworks))
    return pairs, frameworks, width


def _group_axis(ax: Any, pairs: list[tuple[str, str]]) -> None:
    ax.set_xticks(range(len(pairs)), [f"{m}\n{d}" for m, d in pairs])
    ax.tick_params(axis="x", length=0)
    ax.grid(axis="x", visible=False)
    ax.set_xlim(-0.5, len(pairs) - 0.5)


def _legend(fig: Figure, frameworks: list[str], colors: dict[str, str]) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=colors[f], label=f) for f in frameworks]
    fig.legend(handles=handles, loc="outside upper center", ncols=max(1, len(frameworks)))


def throughput_chart(run: Run, numbers: pd.DataFrame, colors: dict[str, str]) -> Figure:
    pairs, frameworks, width = _bar_layout(run)
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax = fig.add_subplot()
    values = numbers["throughput"].where(numbers["status"].isin(MEASURED))
    finite = values.dropna()
    log = bool(len(finite) and finite.min() > 0 and finite.max() / finite.min() > 20)
    for j, framework in enumerate(frameworks):
        for i, (model, dataset) in enumerate(pairs):
            x = i + (j - (len(frameworks) - 1) / 2) * width
            row = _row(numbers, framework, model, dataset)
            if row is None:
                continue
            median = fmt.number(values.get(row.name))
            if median is None:
                _mark_missing(ax, x, row["status"])
                continue
            low, high = fmt.number(row["ci_low"]), fmt.number(row["ci_high"])
            err = None
            if low is not None and high is not None:
                err = [[max(median - low, 0.0)], [max(high - median, 0.0)]]
            ax.bar(
                x,
                median,
                width * 0.92,
                color=colors[framework],
                yerr=err,
                error_kw={"elinewidth": 1, "capsize": 2, "ecolor": "#323f4b"},
            )
            ax.annotate(
                fmt.sig(median, 3),
                (x, high if high is not None else median),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=6.5,
                color="#52606d",
            )
    if log:
        ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.sig(v, 3)))
    ax.set_ylabel("samples / s" + (" (log scale)" if log else ""))
    _group_axis(ax, pairs)
    ax.margins(y=0.12)
    _legend(fig, frameworks, colors)
    return fig


def memory_chart(run: Run, numbers: pd.DataFrame, colors: dict[str, str]) -> Figure:
    """The gated memory figure per cell (``numbers``' ``memory_mib``) with its 95% interval as
    an error bar (its line collection's gid ``memory-ci-<n>``); hatched: no interval."""
    pairs, frameworks, width = _bar_layout(run)
    fig = Figure(figsize=(11, 3.9), layout="constrained")
    ax = fig.add_subplot()
    # Older records' worker peak RSS (baseline included) is drawn, hatched, but does not decide
    # the log scale unless it is all there is.
    old = numbers["memory_label"] == "peak RSS"
    finite = numbers["memory_mib"].where(~old if (~old).any() else old).dropna()
    log = bool(len(finite) and finite.min() > 0 and finite.max() / finite.min() > 20)
    n_ci = 0
    for j, framework in enumerate(frameworks):
        for i, (model, dataset) in enumerate(pairs):
            x = i + (j - (len(frameworks) - 1) / 2) * width
            row = _row(numbers, framework, model, dataset)
            if row is None:
                continue
            value = fmt.number(row["memory_mib"])
            if value is None:
                _mark_missing(ax, x, row["status"])
                continue
            low, high = fmt.number(row["memory_ci_low"]), fmt.number(row["memory_ci_high"])
            err = None
            if low is not None and high is not None:
                err = [[max(value - low, 0.0)], [max(high - value, 0.0)]]
            bar = ax.bar(x, value, width * 0.92, color=colors[framework], yerr=err,
                         error_kw={"elinewidth": 1, "capsize": 2, "ecolor": "#323f4b"})  # fmt: skip
            if bar.errorbar is not None:
                n_ci += 1
                for lines in bar.errorbar.lines[2]:
                    lines.set_gid(f"memory-ci-{n_ci}")
            else:  # one sample, or the whole-run fallback: nothing says how far it wanders
                ax.bar(x, value, width * 0.92, facecolor="none", edgecolor=(1, 1, 1, 0.6),
                       hatch="///", linewidth=0)  # fmt: skip
            ax.annotate(
                fmt.sig(value, 3) + (" RSS" if row["memory_label"] == "peak RSS" else ""),
                (x, high if high is not None else value),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=6.5,
                color="#52606d",
            )
    if log:
        ax.set_yscale("log")
    title = (
        "the worker's peak RSS, baseline included (records older than the per-cell figure)"
        if old.all()
        else "peak above the framework's post-import baseline over the training steps, one "
        "fresh worker per timing pass; bars: 95 % CI; hatched: no interval"
    )
    ax.set_title(title, loc="left", fontsize=8.5, fontweight="normal", color="#52606d")
    unit = "MiB (peak RSS)" if old.all() else "MiB above baseline"
    ax.set_ylabel(unit + (" (log scale)" if log else ""))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.sig(v, 3)))
    _group_axis(ax, pairs)
    ax.margins(y=0.12)
    _legend(fig, frameworks, colors)
    return fig


def _row(numbers: pd.DataFrame, framework: str, model: str, dataset: str) -> pd.Series | None:
    match = numbers[
        (numbers["framework"] == framework)
        & (numbers["model"] == model)
        & (numbers["dataset"] == dataset)
    ]
    return None if match.empty else match.iloc[0]


def _mark_missing(ax: Any, x: float, status: str) -> None:
    """A cell with no value: its status written where its bar would stand."""
    ax.text(
        x,
        0.02,
        "no data" if status == "ok" else status,
        transform=ax.get_xaxis_transform(),
        rotation=90,
        ha="center",
        va="bottom",
        fontsize=7,
        color="#9aa5b1",
    )


# --------------------------------------------------------------------------------------------
# curves


def _curve(record: Record) -> dict[str, np.ndarray] | None:
    """The record's evaluation curve as float arrays (None → NaN, a gap), or None if empty."""
    points = record.get("curve")
    if not isinstance(points, list):
        return None
    points = [p for p in points if isinstance(p, dict) and fmt.number(p.get("step")) is not None]
    if not points:
        return None
    keys = ("step", "train_seconds", "train_loss", "test_accuracy")
    return {
        k: np.array(
            [
                fmt.number(p.get(k)) if fmt.number(p.get(k)) is not None else math.nan
                for p in points
            ],
            dtype=float,
        )
        for k in keys
    }


def _level(ax: Any, y: float, text: str, side: str, color: str, style: str, ink: str) -> None:
    """A horizontal reference line (the paper's accuracy, the target) labelled at one end."""
    ax.axhline(y, color=color, linestyle=style, linewidth=1)
    x = 0.995 if side == "right" else 0.005
    ax.annotate(text, (x, y), xycoords=("axes fraction", "data"), ha=side, va="bottom",
                fontsize=7, color=ink, bbox=_LABEL_BOX)  # fmt: skip


def curves_chart(run: Run, model: str, dataset: str, colors: dict[str, str]) -> Figure:
    fig = Figure(figsize=(11, 3.3), layout="constrained")
    by_step, by_time, loss = fig.subplots(1, 3)
    seconds = []
    shown = []
    for record in run.cells(model, dataset):
        curve = _curve(record)
        if curve is None:
            continue
        framework = record["framework"]
        ok = record["status"] == "ok"
        line = {
            "color": colors[framework],
            "linewidth": 1.6,
            "marker": "o",
            "markersize": 2.5,
            "linestyle": "-" if ok else "--",
        }
        label = framework if ok else f"{framework} ({record['status']})"
        by_step.plot(curve["step"], curve["test_accuracy"], label=label, **line)
        by_time.plot(curve["train_seconds"], curve["test_accuracy"], **line)
        loss.plot(curve["step"], curve["train_loss"], **line)
        finite = curve["train_seconds"][np.isfinite(curve["train_seconds"])]
        if finite.size and finite.max() > 0:
            seconds.append(float(finite.max()))
        shown.append(label)
    paper = PAPER_ACCURACY.get(model) if dataset == "mnist1d" else None
    target = ACCURACY_TARGETS.get((model, dataset))
    for ax in (by_step, by_time):
        if paper is not None:
            _level(ax, paper, f"paper {paper:.0%}", "right", "#52606d", "--", "#52606d")
        if target is not None:
            _level(ax, target, f"target {target:.0%}", "left", "#9aa5b1", ":", "#7b8794")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylabel("test accuracy")
    by_step.set_xlabel("step")
    loss.set_xlabel("step")
    loss.set_ylabel("training loss")
    if len(seconds) > 1 and max(seconds) / min(seconds) > 10:
        by_time.set_xscale("log")
        by_time.set_xlabel("training seconds (log scale)")
    else:
        by_time.set_xlabel("training seconds")
    by_step.set_title("accuracy vs step", loc="left")
    by_time.set_title("accuracy vs time", loc="left")
    loss.set_title("training loss vs step", loc="left")
    if shown:
        fig.legend(loc="outside upper center", ncols=len(shown))
    return fig
