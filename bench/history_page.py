"""The history page: every cell's throughput, memory and accuracy over commits, on one page.

``bench compare main HEAD`` answers "did this commit regress?"; this page answers "since when, and
by how much?". For each cell key it charts the runs in time order (x: run, labelled with the
short commit and date): median throughput with its interval, peak RSS and test accuracy, with
the level shifts :func:`bench.stats.change_points` finds in the throughput medians drawn as
vertical lines and written out under the chart. Per model and dataset with two or more
frameworks, the cross-framework speed ratio is charted too, with the paired interval of
:func:`bench.stats.speed_ratio` (paired timing passes) where both records kept their steps.

Runs of one machine only (its fingerprint), unless none is given: speed on two machines is not
a history. The page is self-contained (inline CSS and SVG, no scripts, no URLs), every string
goes through Jinja's autoescaping, and figure text is drawn as paths, never as markup.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup
from matplotlib.figure import Figure

from bench import stats, timing
from bench.frameworks import VARIANTS
from bench.history import History
from bench.report.figures import framework_colors
from bench.report.svg import style, to_svg

MIB = 2**20
MAX_TICKS = 14
#: Smallest throughput step reported, as ``bench compare``'s default threshold.
MIN_CHANGE = 0.05


@dataclass(frozen=True)
class RunInfo:
    index: int
    run_id: str
    commit: str
    date: str
    source: str

    @property
    def label(self) -> str:
        return f"{self.commit}\n{self.date[5:]}" if self.date else self.commit


@dataclass
class Chart:
    kind: str  # "cell-chart" | "ratio-chart"
    key: str
    title: str
    caption: str
    svg: Markup
    notes: list[str] = field(default_factory=list)


@dataclass
class Section:
    title: str
    charts: list[Chart] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# data


def _runs(history: History, fingerprint: str | None) -> tuple[list[RunInfo], pd.DataFrame, str]:
    """The runs to chart (oldest first, those with cells only), their cells, and a note."""
    runs, cells = history.runs(), history.cells()
    note = ""
    if fingerprint is not None:
        kept = runs[runs["fingerprint"] == fingerprint]
        if len(kept) < len(runs):
            note = (f"Runs of machine {fingerprint} only: {len(runs) - len(kept)} of {len(runs)} "
                    "runs were made on other machines and are left out.")  # fmt: skip
        runs = kept
    elif runs["fingerprint"].nunique(dropna=False) > 1:
        machines = runs["fingerprint"].nunique(dropna=False)
        note = (f"Runs from {machines} machines are mixed on this page: a change between runs "
                "of different machines is not a regression.")  # fmt: skip
    runs = runs[runs["run_id"].isin(set(cells["run_id"]))]
    infos = []
    for i, row in enumerate(runs.itertuples(index=False)):
        commit = str(row.git_commit or "")[:7] or str(row.run_id)[:12]
        infos.append(RunInfo(i, str(row.run_id), commit, str(row.created or "")[:10],
                             str(row.source or "")))  # fmt: skip
    cells = cells[cells["run_id"].isin({r.run_id for r in infos})]
    return infos, cells, note


def _framework_order(frameworks: list[str]) -> list[str]:
    known = [f for f in VARIANTS if f in frameworks]
    return known + sorted(f for f in frameworks if f not in VARIANTS)


def _group_of(key: str) -> str:
    """The cell key without its framework: what frameworks are compared on."""
    return key.split("/", 1)[1] if "/" in key else key


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _changes(values: np.ndarray) -> tuple[list[int], bool]:
    """Change points of a throughput series, and whether the last is provisional.

    Inside the history a new level must hold for two runs (``min_size`` 2, so one odd run is not
    a step); the newest run alone may still start one, since a regression is wanted on the
    commit that made it, but it is flagged provisional until the next run confirms it. As in
    ``bench compare``, a change is a test *and* a threshold: a step the segmentation finds but
    smaller than ``MIN_CHANGE`` between the medians either side is merged away (with a handful
    of runs the noise estimate is rough, and a 1% step is not worth a reader's attention).
    """
    if values.size < 3:
        return [], False
    found = stats.change_points(values, min_size=2)
    last = values.size - 1
    provisional = last not in found and last in stats.change_points(values, min_size=1)
    if provisional:
        found = [*found, last]
    while True:
        bounds = [0, *found, values.size]
        levels = [float(np.median(values[a:b])) for a, b in itertools.pairwise(bounds)]
        steps = [abs(b / a - 1) if a > 0 else math.inf for a, b in itertools.pairwise(levels)]
        if not steps or min(steps) >= MIN_CHANGE:
            break
        found.pop(int(np.argmin(steps)))
    return found, provisional and last in found


class _Records:
    """Full records by run, read from the database only when a chart needs them."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.cache: dict[str, dict[str, dict[str, Any]]] = {}

    def get(self, run_id: str, key: str) -> dict[str, Any] | None:
        if run_id not in self.cache:
            self.cache[run_id] = {r["key"]: r for r in self.history.records(run_id)}
        return self.cache[run_id].get(key)


# --------------------------------------------------------------------------------------------
# charts


def _xaxis(ax: Any, runs: list[RunInfo], xs: list[int]) -> None:
    step = max(1, math.ceil(len(xs) / MAX_TICKS))
    shown = xs[::step]
    ax.set_xticks(shown, [runs[x].label for x in shown], fontsize=7)
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.grid(axis="x", visible=False)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#7b8794")


def cell_chart(
    rows: pd.DataFrame, runs: list[RunInfo], color: str, changes: list[int], title: str
) -> Figure:
    """Three panels over runs: throughput with CI, peak RSS (MiB), test accuracy (%)."""
    ok = rows[rows["status"] == "ok"]
    bad = rows[rows["status"] != "ok"]
    x = ok["x"].to_numpy(int)
    fig = Figure(figsize=(11.5, 3.1), layout="constrained")
    fig.suptitle(title, fontsize=10, fontweight="bold")
    panels = fig.subplots(1, 3)
    tp = ok["throughput"].map(_num).to_numpy(float)
    lo = ok["throughput_ci_low"].map(_num).to_numpy(float)
    hi = ok["throughput_ci_high"].map(_num).to_numpy(float)
    series = (
        (panels[0], tp, "throughput (samples/s)"),
        (panels[1], ok["peak_rss_bytes"].map(_num).to_numpy(float) / MIB, "peak RSS (MiB)"),
        (panels[2], ok["test_accuracy"].map(_num).to_numpy(float) * 100, "test accuracy (%)"),
    )
    for ax, y, label in series:
        ax.set_title(label, fontsize=9, fontweight="normal")
        have = np.isfinite(y)
        if have.any():
            ax.plot(x[have], y[have], "-o", color=color, markersize=4, linewidth=1.4)
        else:
            _empty(ax, "not measured")
        for cp in changes:
            ax.axvline(x[cp] - 0.5, color="#b42318", linestyle="--", linewidth=1)
    with_ci = np.isfinite(tp) & np.isfinite(lo) & np.isfinite(hi)
    if with_ci.any():
        err = np.vstack([tp[with_ci] - lo[with_ci], hi[with_ci] - tp[with_ci]]).clip(min=0)
        panels[0].errorbar(x[with_ci], tp[with_ci], yerr=err, fmt="none", ecolor=color,
                           elinewidth=1, capsize=3)  # fmt: skip
    bounds = [0, *changes, len(x)]
    for a, b in itertools.pairwise(bounds):
        level = tp[a:b][np.isfinite(tp[a:b])]
        if changes and level.size:
            panels[0].hlines(np.median(level), x[a] - 0.3, x[b - 1] + 0.3, color="#52606d",
                             linewidth=1, linestyle=":")  # fmt: skip
    if len(bad):
        xf = bad["x"].to_numpy(int)
        panels[0].plot(xf, np.full(xf.size, 0.04), "x", color="#b42318", markersize=8,
                       markeredgewidth=2, transform=panels[0].get_xaxis_transform())  # fmt: skip
    xs = sorted(set(rows["x"].astype(int)))
    for ax in panels:
        _xaxis(ax, runs, xs)
    return fig


def ratio_chart(
    points: dict[str, list[tuple[int, float, float, float]]],
    runs: list[RunInfo],
    colors: dict[str, str],
    ref: str,
    title: str,
) -> Figure:
    """``ref``'s throughput divided by each other framework's, per run, with paired CIs."""
    fig = Figure(figsize=(11.5, 2.9), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10)
    ax.axhline(1.0, color="#9aa5b1", linewidth=1)
    xs: set[int] = set()
    for other, pts in points.items():
        x = np.array([p[0] for p in pts], int)
        r, lo, hi = (np.array([p[i] for p in pts], float) for i in (1, 2, 3))
        xs.update(x.tolist())
        ax.plot(x, r, "-o", color=colors[other], markersize=4, label=f"{ref} ÷ {other}")
        ci = np.isfinite(lo) & np.isfinite(hi)
        if ci.any():
            err = np.vstack([r[ci] - lo[ci], hi[ci] - r[ci]]).clip(min=0)
            ax.errorbar(x[ci], r[ci], yerr=err, fmt="none", ecolor=colors[other], capsize=3)
    ax.set_ylabel(f"{ref}'s throughput ÷ other's")
    ax.legend(loc="best")
    _xaxis(ax, runs, sorted(xs))
    return fig


def _render(build: Any, fig_id: str) -> Markup:
    with style():
        fig = build()
    return to_svg(fig, fig_id)


# --------------------------------------------------------------------------------------------
# sections


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def _cell(key: str, rows: pd.DataFrame, runs: list[RunInfo], color: str, fig_id: str,
          records: _Records) -> Chart:  # fmt: skip
    ok = rows[rows["status"] == "ok"]
    tp = ok["throughput"].map(_num).to_numpy(float)
    finite = np.isfinite(tp)
    idx = np.flatnonzero(finite)
    found, provisional = _changes(tp[finite])
    changes = [int(idx[c]) for c in found]
    notes = []
    for n, (c, s) in enumerate(zip(changes, found, strict=True)):
        prev = [0, *found][n]
        nxt = [*found, int(finite.sum())][n + 1]
        before = float(np.median(tp[finite][prev:s]))
        after = float(np.median(tp[finite][s:nxt]))
        run = runs[int(ok["x"].iloc[c])]
        tail = " (latest run only: provisional until the next run)" if (
            provisional and n == len(changes) - 1) else ""  # fmt: skip
        change = f"{(after / before - 1) * 100:+.1f}%"
        notes.append(f"throughput changed at {run.commit} ({run.date}): {_fmt(before)} → "
                     f"{_fmt(after)} samples/s ({change}){tail}")  # fmt: skip
    for row in rows[rows["status"] != "ok"].itertuples(index=False):
        run = runs[int(row.x)]
        record = records.get(run.run_id, key) or {}
        notes.append(f"{row.status} in {run.commit} ({run.date}): "
                     f"{record.get('error') or 'no reason recorded'}")  # fmt: skip
    latest = ok.iloc[-1]
    lo, hi = _num(latest["throughput_ci_low"]), _num(latest["throughput_ci_high"])
    ci = f" (95% CI {_fmt(lo)}–{_fmt(hi)})" if math.isfinite(lo) and math.isfinite(hi) else ""
    value = _num(latest["throughput"])
    now = f"latest {_fmt(value)} samples/s{ci}" if math.isfinite(value) else "no throughput"
    caption = (f"{key}: {len(ok)} run{'s' * (len(ok) != 1)}, {now}. Dashed lines: throughput "
               "change points; dotted: the level of each segment; ✕: a failed run.")  # fmt: skip
    svg = _render(lambda: cell_chart(rows, runs, color, changes, key), fig_id)
    return Chart("cell-chart", key, key, caption, svg, notes)


def _ratio(group: str, cells: pd.DataFrame, frameworks: list[str], runs: list[RunInfo],
           colors: dict[str, str], fig_id: str, records: _Records) -> Chart | None:  # fmt: skip
    ref, others = frameworks[0], frameworks[1:]
    ok = cells[(cells["status"] == "ok") & cells["throughput"].map(_num).map(math.isfinite)]
    by_run = {fw: ok[ok["framework"] == fw].set_index("run_id") for fw in frameworks}
    points: dict[str, list[tuple[int, float, float, float]]] = {}
    for other in others:
        both = by_run[ref].index.intersection(by_run[other].index)
        for run in runs:
            if run.run_id not in both:
                continue
            a, b = by_run[ref].loc[run.run_id], by_run[other].loc[run.run_id]
            ratio = float(a["throughput"]) / float(b["throughput"])
            lo = hi = math.nan
            ra = timing.passes(records.get(run.run_id, str(a["key"])) or {})
            rb = timing.passes(records.get(run.run_id, str(b["key"])) or {})
            if ra and rb and (min(len(ra), len(rb)) >= 2 or min(len(ra[0]), len(rb[0])) >= 2):
                ci = stats.speed_ratio(ra, rb)
                lo, hi = ci["ci_low"], ci["ci_high"]
            points.setdefault(other, []).append((run.index, ratio, lo, hi))
    if not points:
        return None
    notes = [f"latest {ref} ÷ {o}: {pts[-1][1]:.2f}×" + (
        f" (95% CI {pts[-1][2]:.2f}–{pts[-1][3]:.2f})" if math.isfinite(pts[-1][2]) else "")
        for o, pts in points.items()]  # fmt: skip
    caption = (f"{group}: {ref}'s throughput divided by each other framework's, per run (ratio "
               "of medians; error bars: 95% CI over each run's paired timing passes, or its "
               f"interleaved rounds for single-pass runs). Above 1: {ref} is faster.")  # fmt: skip
    title = f"{group}: speed ratio"
    svg = _render(lambda: ratio_chart(points, runs, colors, ref, title), fig_id)
    return Chart("ratio-chart", group, title, caption, svg, notes)


def sections(history: History, runs: list[RunInfo], cells: pd.DataFrame) -> list[Section]:
    """Per compared group (model/dataset[/phase]): its cells' charts, then the ratio chart."""
    records = _Records(history)
    x_of = {r.run_id: r.index for r in runs}
    cells = cells.assign(x=cells["run_id"].map(x_of), group=cells["key"].map(_group_of))
    ever_ok = set(cells.loc[cells["status"] == "ok", "key"])
    colors = framework_colors(_framework_order(sorted(set(cells["framework"].astype(str)))))
    out, n = [], 0
    for group in dict.fromkeys(cells["group"]):
        part = cells[(cells["group"] == group) & cells["key"].isin(ever_ok)]
        if part.empty:
            continue
        section = Section(group.replace("/", " · "))
        order = _framework_order(list(dict.fromkeys(part["framework"].astype(str))))
        for fw in order:
            for key in dict.fromkeys(part.loc[part["framework"] == fw, "key"]):
                n += 1
                rows = part[part["key"] == key]
                section.charts.append(_cell(key, rows, runs, colors[fw], f"h-cell-{n}", records))
        if len(order) >= 2:
            n += 1
            chart = _ratio(group, part, order, runs, colors, f"h-ratio-{n}", records)
            if chart is not None:
                section.charts.append(chart)
        out.append(section)
    return out


def never_ok(cells: pd.DataFrame) -> list[str]:
    """Cell keys that have no successful run to chart."""
    ok = set(cells.loc[cells["status"] == "ok", "key"])
    return [k for k in dict.fromkeys(cells["key"]) if k not in ok]


# --------------------------------------------------------------------------------------------
# page

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Benchmark history</title>
<style>
body { margin: 0; background: #f5f7fa; color: #1f2933;
  font: 14px/1.5 -apple-system, "Segoe UI", Roboto, Arial, "DejaVu Sans", sans-serif; }
.wrap { max-width: 1240px; margin: 0 auto; padding: 0 24px 40px; }
header { background: #1f2933; color: #f5f7fa; padding: 22px 0 16px; margin-bottom: 18px; }
header h1 { margin: 0 0 6px; font-size: 24px; }
header p { margin: 0; color: #9fb3c8; }
.note { background: #fff4d6; color: #8a5a00; border: 1px solid #f0c36d; border-radius: 6px;
  padding: 8px 12px; margin: 12px 0; }
section { background: #fff; border: 1px solid #e4e7eb; border-radius: 10px; padding: 16px 22px;
  margin: 18px 0; }
h2 { margin: 0 0 8px; font-size: 18px; }
figure { margin: 14px 0 18px; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { color: #52606d; font-size: 12.5px; margin-top: 4px; }
ul.changes, ul.notes { margin: 6px 0 0; padding-left: 20px; font-size: 13px; }
ul.changes li { color: #b42318; }
table { border-collapse: collapse; font-size: 13px; }
td, th { padding: 3px 10px; text-align: left; border-bottom: 1px solid #e4e7eb; }
.empty { color: #7b8794; font-style: italic; }
code { background: #eef1f5; padding: 1px 5px; border-radius: 4px; }
</style></head>
<body>
<header><div class="wrap">
<h1>Benchmark history</h1>
<p>{{ summary }}</p>
</div></header>
<div class="wrap">
{% for n in notes %}<p class="note">{{ n }}</p>
{% endfor %}
{% if not sections %}<p class="empty">{{ empty }}</p>{% endif %}
{% if runs %}<section><h2>Runs</h2><table>
<tr><th>#</th><th>commit</th><th>date</th><th>run</th><th>source</th></tr>
{% for r in runs %}<tr><td>{{ r.index }}</td><td><code>{{ r.commit }}</code></td>
<td>{{ r.date }}</td><td>{{ r.run_id }}</td><td>{{ r.source }}</td></tr>
{% endfor %}</table></section>{% endif %}
{% for s in sections %}<section>
<h2>{{ s.title }}</h2>
{% for c in s.charts %}<figure class="{{ c.kind }}" data-key="{{ c.key }}">
{{ c.svg }}
<figcaption>{{ c.caption }}</figcaption>
{% if c.notes %}<ul class="{{ 'changes' if c.kind == 'cell-chart' else 'notes' }}">
{% for line in c.notes %}<li>{{ line }}</li>{% endfor %}</ul>
{% endif %}</figure>
{% endfor %}</section>
{% endfor %}
{% if failed_only %}<section><h2>Never succeeded</h2><ul>
{% for k in failed_only %}<li><code>{{ k }}</code></li>{% endfor %}</ul></section>{% endif %}
</div></body></html>
"""


def build_history_page(history: History, out_dir: Path, fingerprint: str | None = None) -> Path:
    """Write ``out_dir/index.html`` from the history alone; returns its path."""
    runs, cells, note = _runs(history, fingerprint)
    notes = [note] if note else []
    if runs:
        summary = (f"{len(runs)} run{'s' * (len(runs) != 1)}, {runs[0].date} to {runs[-1].date}; "
                   f"{cells['key'].nunique()} cells")  # fmt: skip
        if len(runs) == 1:
            notes.append("Only one run so far: charts show a single point and no trend.")
    else:
        summary = "no runs"
    empty = ("The history is empty: run the suite (bench run) or import a run "
             "(bench history --import RUN_DIR) first.")  # fmt: skip
    if fingerprint is not None and not runs:
        empty = f"No run in the history was made on this machine ({fingerprint})."
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.from_string(TEMPLATE).render(
        summary=summary,
        notes=notes,
        empty=empty,
        runs=runs,
        sections=sections(history, runs, cells) if runs else [],
        failed_only=never_ok(cells) if runs else [],
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "index.html"
    page.write_text(html, encoding="utf-8")
    return page


__all__ = ["build_history_page", "cell_chart", "ratio_chart", "sections"]
