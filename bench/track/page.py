"""The history page: every series' throughput, memory and accuracy over commits, on one page.

``bench compare main HEAD`` answers "did this commit regress?"; this page answers "since when, and
by how much?". A chart is one *series* (:mod:`bench.track.series`): one cell key run with one
recipe and one set of settings (precision, memory format, threads, device, workers, scaling,
timing scope) on one machine. A cell whose runs belong to several series gets one labelled chart
per series, the label naming what differs ("steps 300" against "steps 6000", "2 threads"), so a
quick run and a paper run never share a line, and no change point is ever found where only the
recipe or the settings changed.

The x axis is commits in order: repeated runs of one commit are a small strip of points at that
commit's position, its label saying how many (``abc1234 ×3``); labels that would overprint are
thinned until none do. Change points (:mod:`bench.track.change_points`) are found in the
per-commit medians of a series' throughput and drawn as vertical lines, written out under the chart;
a table under each chart lists every point's run id, date, tag and settings. Per model, dataset and
settings with two or more frameworks, the cross-framework speed ratio is charted too, with the
paired interval of :func:`bench.measure.summaries.speed_ratio` where both records kept their steps.

Runs of one machine only (its fingerprint), unless none is given (the machine is part of the
series key anyway). The page is self-contained (inline CSS and SVG, no scripts, no URLs), every
string goes through Jinja's autoescaping, and figure text is drawn as paths, never as markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from bench.measure import summaries, timing
from bench.report.figures import framework_colors
from bench.run.progress import rate
from bench.track.filters import Filters
from bench.track.history import History
from bench.track.page_charts import cell_chart, ratio_chart, render_chart
from bench.track.page_data import (
    Records,
    RunInfo,
    as_number,
    change_indices,
    fields_of,
    framework_order,
    group_of,
    make_axis,
    never_ok,
    newest_first,
    recipe_of,
    select_runs,
    series_labels,
    series_points,
    setting_of,
)
from bench.track.series import describe


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


# --------------------------------------------------------------------------------------------
# charts


# --------------------------------------------------------------------------------------------
# sections


def _cell(key: str, rows: pd.DataFrame, runs: list[RunInfo], color: str, fig_id: str,
          records: Records, label: str, fields: dict[str, Any]) -> Chart:  # fmt: skip
    by_id = {r.run_id: r for r in runs}
    axis = make_axis([by_id[r] for r in dict.fromkeys(rows["run_id"])])
    rows = rows.assign(x=rows["run_id"].map(axis.x))
    ok = rows[(rows["status"] == "ok") & rows["throughput"].map(as_number).map(math.isfinite)]
    ok = ok.assign(slot=ok["run_id"].map(axis.slot_of))
    per_slot = ok.groupby("slot")["throughput"].median().sort_index()
    slots = per_slot.index.to_numpy(int)
    values = per_slot.to_numpy(float)
    found, provisional = change_indices(values)
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
    lo, hi = as_number(latest["throughput_ci_low"]), as_number(latest["throughput_ci_high"])
    ci = f" (95% CI {rate(lo)}–{rate(hi)})" if math.isfinite(lo) and math.isfinite(hi) else ""
    value = as_number(latest["throughput"])
    now = f"latest {rate(value)} samples/s{ci}" if math.isfinite(value) else "no throughput"
    settings = describe(fields)
    runs_n, commits_n = len(done), len(axis.slots)
    caption = (f"{key}{f' [{label}]' if label else ''}: {runs_n} run{'s' * (runs_n != 1)} of "
               f"{commits_n} commit{'s' * (commits_n != 1)}, {now}. Settings: {settings}. "
               "Dashed lines: throughput change points (per-commit medians); dotted: the level "
               "of each segment; ✕: a failed run.")  # fmt: skip
    title = f"{key} — {label}" if label else key
    svg = render_chart(lambda: cell_chart(rows, axis, color, changes, title), fig_id)
    series = str(rows["series"].iloc[0])
    return Chart("cell-chart", key, series, title, label, caption, svg, notes,
                 series_points(rows, axis, by_id, settings))  # fmt: skip


def _ratio(group: str, cells: pd.DataFrame, frameworks: list[str], runs: list[RunInfo],
           colors: dict[str, str], fig_id: str, records: Records, label: str,
           setting: str) -> Chart | None:  # fmt: skip
    ref, others = frameworks[0], frameworks[1:]
    ok = cells[(cells["status"] == "ok") & cells["throughput"].map(as_number).map(math.isfinite)]
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
                ci = summaries.speed_ratio(ra, rb)
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
    svg = render_chart(lambda: ratio_chart(points, axis, colors, ref, title), fig_id)
    return Chart("ratio-chart", group, setting, title, label, caption, svg, notes)


def sections(history: History, runs: list[RunInfo], cells: pd.DataFrame) -> list[Section]:
    """Per compared group (model/dataset): each cell key's series charts, then the ratio chart
    of each setting with two or more frameworks."""
    records = Records(history)
    cells = cells.assign(
        group=cells["key"].map(group_of),
        setting=[setting_of(r) for r in cells.itertuples(index=False)],
    )
    ever_ok = set(cells.loc[cells["status"] == "ok", "series"])
    colors = framework_colors(framework_order(sorted(set(cells["framework"].astype(str)))))
    out, n = [], 0
    for group in dict.fromkeys(cells["group"]):
        part = cells[(cells["group"] == group) & cells["series"].isin(ever_ok)]
        if part.empty:
            continue
        section = Section(group.replace("/", " · "))
        order = framework_order(list(dict.fromkeys(part["framework"].astype(str))))
        for fw in order:
            for key in dict.fromkeys(part.loc[part["framework"] == fw, "key"]):
                of_key = part[part["key"] == key]
                ids = newest_first(of_key, "series")
                parts = [of_key[of_key["series"] == s] for s in ids]
                fields = [fields_of(p.iloc[0]) for p in parts]
                labels = series_labels(fields, [recipe_of(records, p) for p in parts])
                for rows, label, fs in zip(parts, labels, fields, strict=True):
                    n += 1
                    section.charts.append(_cell(key, rows, runs, colors[fw], f"h-cell-{n}",
                                                records, label, fs))  # fmt: skip
        settings = newest_first(part, "setting")
        multi = [s for s in settings if part.loc[part["setting"] == s, "framework"].nunique() > 1]
        subsets = [part[part["setting"] == s] for s in multi]
        labels = series_labels([fields_of(p.iloc[0]) for p in subsets],
                         [recipe_of(records, p) for p in subsets])  # fmt: skip
        for setting, subset, label in zip(multi, subsets, labels, strict=True):
            fws = framework_order(list(dict.fromkeys(subset["framework"].astype(str))))
            n += 1
            chart = _ratio(group, subset, fws, runs, colors, f"h-ratio-{n}", records, label,
                           setting)  # fmt: skip
            if chart is not None:
                section.charts.append(chart)
        out.append(section)
    return out


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
    runs, cells, notes = select_runs(history, fingerprint, filters)
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
