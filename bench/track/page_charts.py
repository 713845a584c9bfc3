"""The history page's charts: one cell's series over commits (a strip per commit, change points as
vertical lines) and a cross-framework speed ratio, drawn with matplotlib into inline SVG, and the
thinning of commit labels until none overprint.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup
from matplotlib.figure import Figure

from bench.report.svg import style, to_svg
from bench.track.page_data import MIB, Axis, as_number

#: Pixels (at the figure's dpi) kept free between two x labels.
LABEL_GAP = 4
#: The least a throughput or memory panel's y axis spans around its series' median, each way:
#: a steady series' few-percent wobble must look like noise, not fill the panel's height.
MIN_SPAN = 0.25
#: The same for test accuracy (a bounded figure: ±10 % of 62 % is ±6 points; seeds differ by 1).
ACCURACY_SPAN = 0.10
#: What a memory point without an interval is (one sample each), as the history stores it.
FALLBACKS = ("whole run", "peak RSS")


def _xaxis(ax: Any, axis: Axis) -> None:
    ax.set_xticks(range(len(axis.slots)), axis.labels, fontsize=7)
    ax.set_xlim(-0.6, len(axis.slots) - 0.4)
    ax.grid(axis="x", visible=False)


def _overlap(a: Any, b: Any) -> bool:
    return not (a.x1 + LABEL_GAP <= b.x0 or b.x1 + LABEL_GAP <= a.x0 or a.y1 <= b.y0
                or b.y1 <= a.y0)  # fmt: skip


def declutter(fig: Figure) -> None:
    """Thin each axes' x labels (every 2nd, 3rd, ... slot, counted back from the newest) until
    no two overprint, then give each label an SVG id (``xlabel-<axes>-<n>``) so a test can find
    it in the page."""
    fig.draw_without_rendering()
    for i, ax in enumerate(fig.axes):
        ticks = list(ax.get_xticks())
        texts = [t.get_text() for t in ax.get_xticklabels()]
        for step in range(1, max(len(ticks), 1) + 1):
            if step > 1:
                keep = slice((len(ticks) - 1) % step, None, step)  # the newest commit kept
                ax.set_xticks(ticks[keep], texts[keep], fontsize=7)
                fig.draw_without_rendering()
            boxes = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
            if not any(_overlap(a, b) for a, b in itertools.combinations(boxes, 2)):
                break
        for n, label in enumerate(ax.get_xticklabels()):
            label.set_gid(f"xlabel-{i}-{n}")


def span_at_least(ax: Any, y: np.ndarray, fraction: float = MIN_SPAN) -> None:
    """Widen ``ax``'s y range to at least ``median(y)`` ± ``fraction`` of it (keeping whatever
    wider range its artists already need)."""
    y = y[np.isfinite(y)]
    if not y.size or np.median(y) <= 0:
        return
    mid = float(np.median(y))
    low, high = ax.get_ylim()
    ax.set_ylim(min(low, mid * (1 - fraction)), max(high, mid * (1 + fraction)))


def _numbers(rows: pd.DataFrame, column: str) -> np.ndarray:
    """A column as floats, NaN where missing (or the whole column, absent)."""
    if column not in rows:
        return np.full(len(rows), np.nan)
    return rows[column].map(as_number).to_numpy(float)


def memory_series(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's gated memory figure in MiB, its interval (NaN without one) and whether it is a
    fallback with no interval to have (the whole-run peak, or an older record's peak RSS): the
    stored figure, or the worker's peak RSS for a row stored before the figure had columns."""
    figure = _numbers(rows, "memory_bytes")
    older = ~np.isfinite(figure)
    figure = np.where(older, _numbers(rows, "peak_rss_bytes"), figure)
    labels = rows["memory_label"] if "memory_label" in rows else pd.Series([None] * len(rows))
    fallback = older | labels.isin(FALLBACKS).to_numpy()
    low, high = _numbers(rows, "memory_ci_low_bytes"), _numbers(rows, "memory_ci_high_bytes")
    return figure / MIB, low / MIB, high / MIB, fallback


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#7b8794")


def cell_chart(
    rows: pd.DataFrame, axis: Axis, color: str, changes: list[int], title: str
) -> Figure:
    """Three panels over commits: throughput with CI; the gated memory figure (MiB above the
    post-import baseline over the training steps, one fresh worker per timing pass) with its CI,
    hollow where a run has only the whole-run peak (or, older, the worker's peak RSS); test
    accuracy (%). Each run a point (repeated runs of a commit side by side), the line through
    per-commit medians; throughput and memory axes span at least ±25 % around the median.

    ``rows`` holds one series' cells with an ``x`` column (from ``axis``); ``changes`` are the
    slots where a new throughput level starts.
    """
    rows = rows.sort_values("x")
    ok = rows[rows["status"] == "ok"]
    bad = rows[rows["status"] != "ok"]
    x = ok["x"].to_numpy(float)
    fig = Figure(figsize=(11.5, 3.2), layout="constrained")
    fig.suptitle(title, fontsize=10, fontweight="bold")
    panels = fig.subplots(1, 3)
    tp = ok["throughput"].map(as_number).to_numpy(float)
    lo = ok["throughput_ci_low"].map(as_number).to_numpy(float)
    hi = ok["throughput_ci_high"].map(as_number).to_numpy(float)
    mem, mem_lo, mem_hi, fallback = memory_series(ok)
    series = (
        (panels[0], tp, "throughput (samples/s)"),
        (panels[1], mem, "memory above baseline, training steps (MiB)"),
        (panels[2], ok["test_accuracy"].map(as_number).to_numpy(float) * 100, "test accuracy (%)"),
    )
    for ax, y, label in series:
        ax.set_title(label, fontsize=9, fontweight="normal")
        have = np.isfinite(y)
        if not have.any():
            _empty(ax, "not measured")
        # every run a point; the line joins each commit's median (memory: gated figures and
        # fallbacks apart, never one line through both)
        kinds = [(have & ~fallback, "-"), (have & fallback, ":")] if ax is panels[1] else [
            (have, "-")]  # fmt: skip
        for kind, line in kinds:
            if not kind.any():
                continue
            if line == "-":
                ax.plot(x[kind], y[kind], "o", color=color, markersize=4)
            medians = pd.Series(y[kind]).groupby(np.rint(x[kind]).astype(int)).median()
            ax.plot(medians.index, medians.to_numpy(), line, color=color, linewidth=1.4)
        for slot in changes:
            ax.axvline(slot - 0.5, color="#b42318", linestyle="--", linewidth=1)
    with_ci = np.isfinite(tp) & np.isfinite(lo) & np.isfinite(hi)
    if with_ci.any():
        err = np.vstack([tp[with_ci] - lo[with_ci], hi[with_ci] - tp[with_ci]]).clip(min=0)
        panels[0].errorbar(x[with_ci], tp[with_ci], yerr=err, fmt="none", ecolor=color,
                           elinewidth=1, capsize=3)  # fmt: skip
    _memory_extras(panels[1], x, mem, mem_lo, mem_hi, fallback, color)
    if changes:
        slot = np.rint(x).astype(int)
        bounds = [0, *changes, len(axis.slots)]
        for a, b in itertools.pairwise(bounds):
            level = tp[(slot >= a) & (slot < b) & np.isfinite(tp)]
            if level.size:
                panels[0].hlines(np.median(level), a - 0.3, b - 1 + 0.3, color="#52606d",
                                 linewidth=1, linestyle=":")  # fmt: skip
    if len(bad):
        xf = bad["x"].to_numpy(float)
        panels[0].plot(xf, np.full(xf.size, 0.04), "x", color="#b42318", markersize=8,
                       markeredgewidth=2, transform=panels[0].get_xaxis_transform())  # fmt: skip
    for ax, y, fraction in ((panels[0], tp, MIN_SPAN), (panels[1], mem, MIN_SPAN),
                            (panels[2], series[2][1], ACCURACY_SPAN)):  # fmt: skip
        span_at_least(ax, y, fraction)
    for ax in panels:
        _xaxis(ax, axis)
    declutter(fig)
    return fig


def _memory_extras(ax: Any, x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                   fallback: np.ndarray, color: str) -> None:  # fmt: skip
    """The memory panel's intervals (error bars, gid ``memory-ci``) and its fallback points:
    hollow, labelled in the panel, since one whole-run sample is not the gated figure."""
    with_ci = np.isfinite(y) & np.isfinite(lo) & np.isfinite(hi)
    if with_ci.any():
        err = np.vstack([y[with_ci] - lo[with_ci], hi[with_ci] - y[with_ci]]).clip(min=0)
        bars = ax.errorbar(x[with_ci], y[with_ci], yerr=err, fmt="none", ecolor=color,
                           elinewidth=1, capsize=3)  # fmt: skip
        for lines in bars.lines[2]:
            lines.set_gid("memory-ci")
    hollow = fallback & np.isfinite(y)
    if hollow.any():
        ax.plot(x[hollow], y[hollow], "o", markerfacecolor="none", markeredgecolor=color,
                markersize=5, gid="memory-fallback")  # fmt: skip
        ax.set_title(f"{ax.get_title()}\n○: whole-run peak, one sample (no interval)",
                     fontsize=9, fontweight="normal")  # fmt: skip


def ratio_chart(
    points: dict[str, list[tuple[float, float, float, float]]],
    axis: Axis,
    colors: dict[str, str],
    ref: str,
    title: str,
) -> Figure:
    """``ref``'s throughput divided by each other framework's, per run, with paired CIs."""
    fig = Figure(figsize=(11.5, 3.0), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10)
    ax.axhline(1.0, color="#9aa5b1", linewidth=1)
    for other, pts in points.items():
        pts = sorted(pts)
        x = np.array([p[0] for p in pts], float)
        r, lo, hi = (np.array([p[i] for p in pts], float) for i in (1, 2, 3))
        ax.plot(x, r, "-o", color=colors[other], markersize=4, label=f"{ref} ÷ {other}")
        ci = np.isfinite(lo) & np.isfinite(hi)
        if ci.any():
            err = np.vstack([r[ci] - lo[ci], hi[ci] - r[ci]]).clip(min=0)
            ax.errorbar(x[ci], r[ci], yerr=err, fmt="none", ecolor=colors[other], capsize=3)
    ax.set_ylabel(f"{ref}'s throughput ÷ other's")
    ax.legend(loc="best")
    _xaxis(ax, axis)
    declutter(fig)
    return fig


def render_chart(build: Any, fig_id: str) -> Markup:
    with style():
        fig = build()
    return to_svg(fig, fig_id)
