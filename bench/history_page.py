"""The history page: every series' throughput, memory and accuracy over commits, on one page.

``bench compare main HEAD`` answers "did this commit regress?"; this page answers "since when, and
by how much?". A chart is one *series* (:mod:`bench.history_series`): one cell key run with one
recipe and one set of settings (precision, memory format, threads, device, workers, scaling,
timing scope) on one machine. A cell whose runs belong to several series gets one labelled chart
per series, the label naming what differs ("steps 300" against "steps 6000", "2 threads"), so a
quick run and a paper run never share a line, and no change point is ever found where only the
recipe or the settings changed.

The x axis is commits in order: repeated runs of one commit are a small strip of points at that
commit's position, its label saying how many (``abc1234 ×3``); labels that would overprint are
thinned until none do. Change points (:func:`bench.stats.change_points`) are found in the
per-commit medians of a series' throughput and drawn as vertical lines, written out under the
chart; a table under each chart lists every point's run id, date, tag and settings. Per model,
dataset and settings with two or more frameworks, the cross-framework speed ratio is charted too,
with the paired interval of :func:`bench.stats.speed_ratio` where both records kept their steps.

Runs of one machine only (its fingerprint), unless none is given (the machine is part of the
series key anyway). The page is self-contained (inline CSS and SVG, no scripts, no URLs), every
string goes through Jinja's autoescaping, and figure text is drawn as paths, never as markup.
"""

from __future__ import annotations

import hashlib
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
from bench.history_filters import Filters
from bench.history_series import FIELDS, describe, recipe_difference
from bench.progress import rate
from bench.report.figures import framework_colors
from bench.report.svg import style, to_svg

MIB = 2**20
#: Smallest throughput step reported, as ``bench compare``'s default threshold.
MIN_CHANGE = 0.05
#: Pixels (at the figure's dpi) kept free between two x labels.
LABEL_GAP = 4
#: Series fields that differ between charts of one cell key (the key fixes the others).
SETTING_FIELDS = tuple(f for f in FIELDS if f not in ("framework", "model", "dataset"))


@dataclass(frozen=True)
class RunInfo:
    index: int
    run_id: str
    commit: str  # short, for labels
    date: str
    created: str
    source: str
    tag: str
    suite: str
    branch: str
    sha: str = ""  # the full commit (or the run id): what groups repeated runs


@dataclass(frozen=True)
class Axis:
    """Where a chart's runs sit: one slot per commit (in order of its first run), the runs of
    one commit side by side around it."""

    x: dict[str, float]  # run id -> x position
    slots: list[list[RunInfo]]  # per slot, its runs oldest first

    @property
    def labels(self) -> list[str]:
        out = []
        for runs in self.slots:
            many = f" ×{len(runs)}" if len(runs) > 1 else ""
            out.append(f"{runs[0].commit}{many}\n{runs[0].date[5:]}")
        return out

    def slot_of(self, run_id: str) -> int:
        return round(self.x[run_id])


def make_axis(runs: list[RunInfo]) -> Axis:
    """Slots for ``runs`` (any order): commits in order of their first run."""
    slots: dict[str, list[RunInfo]] = {}
    for run in sorted(runs, key=lambda r: r.index):
        slots.setdefault(run.sha or run.commit, []).append(run)
    x: dict[str, float] = {}
    for i, members in enumerate(slots.values()):
        spread = min(0.6 / len(members), 0.18)
        for j, run in enumerate(members):
            x[run.run_id] = i + (j - (len(members) - 1) / 2) * spread
    return Axis(x, list(slots.values()))


@dataclass
class Chart:
    kind: str  # "cell-chart" | "ratio-chart"
    key: str
    series: str
    title: str
    label: str
    caption: str
    svg: Markup
    notes: list[str] = field(default_factory=list)
    points: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Section:
    title: str
    charts: list[Chart] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# data


def _runs(
    history: History, fingerprint: str | None, filters: Filters
) -> tuple[list[RunInfo], pd.DataFrame, list[str]]:
    """The runs to chart (oldest first, those with cells only), their cells, and notes."""
    runs, cells = history.runs(), history.cells()
    notes = []
    if fingerprint is not None:
        kept = runs[runs["fingerprint"] == fingerprint]
        if len(kept) < len(runs):
            notes.append(
                f"Runs of machine {fingerprint} only: {len(runs) - len(kept)} of "
                f"{len(runs)} runs were made on other machines and are left out."
            )
        runs = kept
    elif runs["fingerprint"].nunique(dropna=False) > 1:
        machines = runs["fingerprint"].nunique(dropna=False)
        notes.append(f"Runs from {machines} machines are on this page: each machine's runs are "
                     "separate series, never one line.")  # fmt: skip
    if filters.active():
        runs = filters.keep_runs(runs)
        cells = filters.keep_cells(cells)
        notes.append(f"Filtered: {filters.describe()}.")
    runs = runs[runs["run_id"].isin(set(cells["run_id"]))]
    infos = []
    for i, row in enumerate(runs.itertuples(index=False)):
        commit = str(row.git_commit or "")[:7] or str(row.run_id)[:12]
        infos.append(RunInfo(i, str(row.run_id), commit, str(row.created or "")[:10],
                             str(row.created or "")[:16].replace("T", " "), _text(row.source),
                             _text(row.tag), _text(row.suite), _text(row.git_branch),
                             _text(row.git_commit) or str(row.run_id)))  # fmt: skip
    cells = cells[cells["run_id"].isin({r.run_id for r in infos})]
    return infos, cells, notes


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _framework_order(frameworks: list[str]) -> list[str]:
    known = [f for f in VARIANTS if f in frameworks]
    return known + sorted(f for f in frameworks if f not in VARIANTS)


def _group_of(key: str) -> str:
    """The cell key without its framework: what frameworks are compared on."""
    return key.split("/", 1)[1] if "/" in key else key


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, pd.Series) else getattr(row, name)


def _setting_of(row: Any) -> str:
    """The series key less the framework: cells of one setting are compared across frameworks."""
    text = "|".join(str(_get(row, f)) for f in SETTING_FIELDS)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _changes(values: np.ndarray) -> tuple[list[int], bool]:
    """Change points of a throughput series, and whether the last is provisional.

    Inside the history a new level must hold for two commits (``min_size`` 2, so one odd commit
    is not a step); the newest alone may still start one, since a regression is wanted on the
    commit that made it, but it is flagged provisional until the next commit confirms it. As in
    ``bench compare``, a change is a test *and* a threshold: a step the segmentation finds but
    smaller than ``MIN_CHANGE`` between the medians either side is merged away (with a handful
    of commits the noise estimate is rough, and a 1% step is not worth a reader's attention).
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


def _labels(fields: list[dict[str, Any]], recipes: list[dict[str, Any]]) -> list[str]:
    """For charts that share a cell key (or a model and dataset), what sets each apart."""
    if len(fields) < 2:
        return [""] * len(fields)
    differing = [f for f in SETTING_FIELDS if len({str(fs[f]) for fs in fields}) > 1]
    by_recipe = recipe_difference(recipes) if "recipe_hash" in differing else [""] * len(fields)
    out = []
    for fs, recipe_text in zip(fields, by_recipe, strict=True):
        parts = []
        for f in differing:
            if f == "recipe_hash":
                parts.append(recipe_text or f"recipe {fs[f]}")
            elif f == "threads":
                n = fs[f]
                parts.append(f"{'?' if n is None else n} thread{'s' * (n != 1)}")
            elif f == "workers":
                parts.append(f"{fs[f]} worker{'s' * (fs[f] != 1)}")
            elif f == "machine":
                parts.append(f"machine {str(fs[f])[:8]}")
            else:
                parts.append(f"{f.replace('_', ' ')} {fs[f]}")
        out.append(" · ".join(parts))
    return out


# --------------------------------------------------------------------------------------------
# charts


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


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#7b8794")


def cell_chart(
    rows: pd.DataFrame, axis: Axis, color: str, changes: list[int], title: str
) -> Figure:
    """Three panels over commits: throughput with CI, peak RSS (MiB), test accuracy (%); each
    run a point (repeated runs of a commit side by side), the line through per-commit medians.

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
        if have.any():  # every run a point; the line joins each commit's median
            ax.plot(x[have], y[have], "o", color=color, markersize=4)
            medians = pd.Series(y[have]).groupby(np.rint(x[have]).astype(int)).median()
            ax.plot(medians.index, medians.to_numpy(), "-", color=color, linewidth=1.4)
        else:
            _empty(ax, "not measured")
        for slot in changes:
            ax.axvline(slot - 0.5, color="#b42318", linestyle="--", linewidth=1)
    with_ci = np.isfinite(tp) & np.isfinite(lo) & np.isfinite(hi)
    if with_ci.any():
        err = np.vstack([tp[with_ci] - lo[with_ci], hi[with_ci] - tp[with_ci]]).clip(min=0)
        panels[0].errorbar(x[with_ci], tp[with_ci], yerr=err, fmt="none", ecolor=color,
                           elinewidth=1, capsize=3)  # fmt: skip
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
    for ax in panels:
        _xaxis(ax, axis)
    declutter(fig)
    return fig


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


def _render(build: Any, fig_id: str) -> Markup:
    with style():
        fig = build()
    return to_svg(fig, fig_id)


# --------------------------------------------------------------------------------------------
# sections


def _fields(row: Any) -> dict[str, Any]:
    out = {f: _get(row, f) for f in FIELDS}
    threads = out["threads"]
    out["threads"] = None if threads is None or _num(threads) != _num(threads) else int(threads)
    out["workers"] = int(_num(out["workers"])) if math.isfinite(_num(out["workers"])) else 1
    return out


def _points(rows: pd.DataFrame, axis: Axis, by_id: dict[str, RunInfo],
            settings: str) -> list[dict[str, str]]:  # fmt: skip
    """One table row per run of a chart: where it is drawn, which run, when, tag, settings."""
    out = []
    for row in rows.sort_values("x").itertuples(index=False):
        run = by_id[row.run_id]
        tp, acc = _num(row.throughput), _num(row.test_accuracy)
        out.append({
            "commit": axis.labels[axis.slot_of(run.run_id)].split("\n")[0],
            "run": run.run_id, "date": run.created, "tag": run.tag, "suite": run.suite,
            "branch": run.branch, "status": str(row.status),
            "throughput": rate(tp) if math.isfinite(tp) else "—",
            "accuracy": f"{acc * 100:.1f}%" if math.isfinite(acc) else "—",
            "settings": settings,
        })  # fmt: skip
    return out


def _cell(key: str, rows: pd.DataFrame, runs: list[RunInfo], color: str, fig_id: str,
          records: _Records, label: str, fields: dict[str, Any]) -> Chart:  # fmt: skip
    by_id = {r.run_id: r for r in runs}
    axis = make_axis([by_id[r] for r in dict.fromkeys(rows["run_id"])])
    rows = rows.assign(x=rows["run_id"].map(axis.x))
    ok = rows[(rows["status"] == "ok") & rows["throughput"].map(_num).map(math.isfinite)]
    ok = ok.assign(slot=ok["run_id"].map(axis.slot_of))
    per_slot = ok.groupby("slot")["throughput"].median().sort_index()
    slots = per_slot.index.to_numpy(int)
    values = per_slot.to_numpy(float)
    found, provisional = _changes(values)
    changes = [int(slots[c]) for c in found]
    notes = []
    for n, c in enumerate(found):
        prev, nxt = [0, *found][n], [*found, values.size][n + 1]
        before, after = float(np.median(values[prev:c])), float(np.median(values[c:nxt]))
        run = axis.slots[int(slots[c])][0]
        tail = " (latest commit only: provisional until the next commit)" if (
            provisional and n == len(found) - 1) else ""  # fmt: skip
        notes.append(
            f"throughput changed at {run.commit} ({run.date}): {rate(before)} → "
            f"{rate(after)} samples/s ({(after / before - 1) * 100:+.1f}%){tail}"
        )
    for row in rows[rows["status"] != "ok"].itertuples(index=False):
        run = by_id[row.run_id]
        record = records.get(run.run_id, key) or {}
        notes.append(f"{row.status} in {run.commit} ({run.date}): "
                     f"{record.get('error') or 'no reason recorded'}")  # fmt: skip
    done = rows[rows["status"] == "ok"]
    latest = done.sort_values("x").iloc[-1]
    lo, hi = _num(latest["throughput_ci_low"]), _num(latest["throughput_ci_high"])
    ci = f" (95% CI {rate(lo)}–{rate(hi)})" if math.isfinite(lo) and math.isfinite(hi) else ""
    value = _num(latest["throughput"])
    now = f"latest {rate(value)} samples/s{ci}" if math.isfinite(value) else "no throughput"
    settings = describe(fields)
    runs_n, commits_n = len(done), len(axis.slots)
    caption = (f"{key}{f' [{label}]' if label else ''}: {runs_n} run{'s' * (runs_n != 1)} of "
               f"{commits_n} commit{'s' * (commits_n != 1)}, {now}. Settings: {settings}. "
               "Dashed lines: throughput change points (per-commit medians); dotted: the level "
               "of each segment; ✕: a failed run.")  # fmt: skip
    title = f"{key} — {label}" if label else key
    svg = _render(lambda: cell_chart(rows, axis, color, changes, title), fig_id)
    series = str(rows["series"].iloc[0])
    return Chart("cell-chart", key, series, title, label, caption, svg, notes,
                 _points(rows, axis, by_id, settings))  # fmt: skip


def _ratio(group: str, cells: pd.DataFrame, frameworks: list[str], runs: list[RunInfo],
           colors: dict[str, str], fig_id: str, records: _Records, label: str,
           setting: str) -> Chart | None:  # fmt: skip
    ref, others = frameworks[0], frameworks[1:]
    ok = cells[(cells["status"] == "ok") & cells["throughput"].map(_num).map(math.isfinite)]
    by_run = {fw: ok[ok["framework"] == fw].set_index("run_id") for fw in frameworks}
    pairs: dict[str, list[tuple[RunInfo, float, float, float]]] = {}
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
            pairs.setdefault(other, []).append((run, ratio, lo, hi))
    if not pairs:
        return None
    axis = make_axis(list({p[0].run_id: p[0] for ps in pairs.values() for p in ps}.values()))
    points = {o: [(axis.x[p[0].run_id], *p[1:]) for p in ps] for o, ps in pairs.items()}
    notes = [f"latest {ref} ÷ {o}: {ps[-1][1]:.2f}×" + (
        f" (95% CI {ps[-1][2]:.2f}–{ps[-1][3]:.2f})" if math.isfinite(ps[-1][2]) else "")
        for o, ps in pairs.items()]  # fmt: skip
    where = f" [{label}]" if label else ""
    caption = (
        f"{group}{where}: {ref}'s throughput divided by each other framework's, per run "
        "(ratio of medians; error bars: 95% CI over each run's paired timing passes, or "
        f"its interleaved rounds for single-pass runs). Above 1: {ref} is faster."
    )
    title = f"{group}: speed ratio" + (f" — {label}" if label else "")
    svg = _render(lambda: ratio_chart(points, axis, colors, ref, title), fig_id)
    return Chart("ratio-chart", group, setting, title, label, caption, svg, notes)


def _recipe(records: _Records, rows: pd.DataFrame) -> dict[str, Any]:
    row = rows.iloc[-1]
    return (records.get(str(row["run_id"]), str(row["key"])) or {}).get("recipe") or {}


def _newest_first(part: pd.DataFrame, column: str) -> list[str]:
    """Values of ``column`` ordered by their newest run, newest first (the current one on top)."""
    newest = part.groupby(column)["created"].max().sort_values(ascending=False, kind="stable")
    return [str(v) for v in newest.index]


def sections(history: History, runs: list[RunInfo], cells: pd.DataFrame) -> list[Section]:
    """Per compared group (model/dataset): each cell key's series charts, then the ratio chart
    of each setting with two or more frameworks."""
    records = _Records(history)
    cells = cells.assign(
        group=cells["key"].map(_group_of),
        setting=[_setting_of(r) for r in cells.itertuples(index=False)],
    )
    ever_ok = set(cells.loc[cells["status"] == "ok", "series"])
    colors = framework_colors(_framework_order(sorted(set(cells["framework"].astype(str)))))
    out, n = [], 0
    for group in dict.fromkeys(cells["group"]):
        part = cells[(cells["group"] == group) & cells["series"].isin(ever_ok)]
        if part.empty:
            continue
        section = Section(group.replace("/", " · "))
        order = _framework_order(list(dict.fromkeys(part["framework"].astype(str))))
        for fw in order:
            for key in dict.fromkeys(part.loc[part["framework"] == fw, "key"]):
                of_key = part[part["key"] == key]
                ids = _newest_first(of_key, "series")
                parts = [of_key[of_key["series"] == s] for s in ids]
                fields = [_fields(p.iloc[0]) for p in parts]
                labels = _labels(fields, [_recipe(records, p) for p in parts])
                for rows, label, fs in zip(parts, labels, fields, strict=True):
                    n += 1
                    section.charts.append(_cell(key, rows, runs, colors[fw], f"h-cell-{n}",
                                                records, label, fs))  # fmt: skip
        settings = _newest_first(part, "setting")
        multi = [s for s in settings if part.loc[part["setting"] == s, "framework"].nunique() > 1]
        subsets = [part[part["setting"] == s] for s in multi]
        labels = _labels([_fields(p.iloc[0]) for p in subsets],
                         [_recipe(records, p) for p in subsets])  # fmt: skip
        for setting, subset, label in zip(multi, subsets, labels, strict=True):
            fws = _framework_order(list(dict.fromkeys(subset["framework"].astype(str))))
            n += 1
            chart = _ratio(group, subset, fws, runs, colors, f"h-ratio-{n}", records, label,
                           setting)  # fmt: skip
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
details { margin-top: 6px; font-size: 12.5px; }
details table { font-size: 12px; }
.label { color: #3e4c59; font-weight: 600; }
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
<tr><th>#</th><th>commit</th><th>date</th><th>run</th><th>tag</th><th>suite</th><th>branch</th>
<th>source</th></tr>
{% for r in runs %}<tr><td>{{ r.index }}</td><td><code>{{ r.commit }}</code></td>
<td>{{ r.created }}</td><td>{{ r.run_id }}</td><td>{{ r.tag }}</td><td>{{ r.suite }}</td>
<td>{{ r.branch }}</td><td>{{ r.source }}</td></tr>
{% endfor %}</table></section>{% endif %}
{% for s in sections %}<section>
<h2>{{ s.title }}</h2>
{% for c in s.charts %}<figure class="{{ c.kind }}" data-key="{{ c.key }}"
 data-series="{{ c.series }}" data-label="{{ c.label }}">
{{ c.svg }}
<figcaption>{{ c.caption }}</figcaption>
{% if c.notes %}<ul class="{{ 'changes' if c.kind == 'cell-chart' else 'notes' }}">
{% for line in c.notes %}<li>{{ line }}</li>{% endfor %}</ul>
{% endif %}{% if c.points %}<details class="points"><summary>{{ c.points | length }} run(s) in
this chart: run id, date, tag, settings</summary><table>
<tr><th>commit</th><th>run</th><th>date</th><th>tag</th><th>suite</th><th>branch</th>
<th>status</th><th>samples/s</th><th>accuracy</th><th>settings</th></tr>
{% for p in c.points %}<tr><td><code>{{ p.commit }}</code></td><td>{{ p.run }}</td>
<td>{{ p.date }}</td><td>{{ p.tag }}</td><td>{{ p.suite }}</td><td>{{ p.branch }}</td>
<td>{{ p.status }}</td><td>{{ p.throughput }}</td><td>{{ p.accuracy }}</td>
<td>{{ p.settings }}</td></tr>
{% endfor %}</table></details>{% endif %}</figure>
{% endfor %}</section>
{% endfor %}
{% if failed_only %}<section><h2>Never succeeded</h2><ul>
{% for k in failed_only %}<li><code>{{ k }}</code></li>{% endfor %}</ul></section>{% endif %}
</div></body></html>
"""


def build_history_page(
    history: History,
    out_dir: Path,
    fingerprint: str | None = None,
    filters: Filters | None = None,
) -> Path:
    """Write ``out_dir/index.html`` from the history alone; returns its path.

    ``fingerprint``: chart this machine's runs only; ``filters``: the runs and cells to chart.
    """
    filters = filters or Filters()
    runs, cells, notes = _runs(history, fingerprint, filters)
    if runs:
        summary = (
            f"{len(runs)} run{'s' * (len(runs) != 1)}, {runs[0].date} to {runs[-1].date}; "
            f"{cells['key'].nunique()} cells in {cells['series'].nunique()} series"
        )
        if len(runs) == 1:
            notes.append("Only one run so far: charts show a single point and no trend.")
    else:
        summary = "no runs"
    empty = ("The history is empty: run the suite (bench run) or import a run "
             "(bench history --import RUN_DIR) first.")  # fmt: skip
    if fingerprint is not None and not runs:
        empty = f"No run in the history was made on this machine ({fingerprint})."
    if filters.active() and not runs:
        empty = f"No run matches the filters ({filters.describe()})."
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


__all__ = ["build_history_page", "cell_chart", "declutter", "make_axis", "ratio_chart", "sections"]
