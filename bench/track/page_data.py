"""The history page's data: which runs of the history it shows, the commit axis, the series of one
cell and their labels, and the per-commit change points, as plain Python and pandas objects.

Kept apart from the drawing (:mod:`bench.track.page_charts`) and the page (:mod:`bench.track.page`),
so what the page says can be tested without drawing it.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bench.catalog.frameworks import VARIANTS
from bench.run.progress import rate
from bench.track import change_points
from bench.track.filters import Filters
from bench.track.history import History
from bench.track.series import FIELDS, recipe_difference

MIB = 2**20


#: Smallest throughput step reported, as ``bench compare``'s default threshold.
MIN_CHANGE = 0.05


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


def select_runs(
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
                             str(row.created or "")[:16].replace("T", " "), as_text(row.source),
                             as_text(row.tag), as_text(row.suite), as_text(row.git_branch),
                             as_text(row.git_commit) or str(row.run_id)))  # fmt: skip
    cells = cells[cells["run_id"].isin({r.run_id for r in infos})]
    return infos, cells, notes


def as_text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def framework_order(frameworks: list[str]) -> list[str]:
    known = [f for f in VARIANTS if f in frameworks]
    return known + sorted(f for f in frameworks if f not in VARIANTS)


def group_of(key: str) -> str:
    """The cell key without its framework: what frameworks are compared on."""
    return key.split("/", 1)[1] if "/" in key else key


def value_of(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, pd.Series) else getattr(row, name)


def setting_of(row: Any) -> str:
    """The series key less the framework: cells of one setting are compared across frameworks."""
    text = "|".join(str(value_of(row, f)) for f in SETTING_FIELDS)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def as_number(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def change_indices(values: np.ndarray) -> tuple[list[int], bool]:
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
    found = change_points.change_points(values, min_size=2)
    last = values.size - 1
    provisional = last not in found and last in change_points.change_points(values, min_size=1)
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


class Records:
    """Full records by run, read from the database only when a chart needs them."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.cache: dict[str, dict[str, dict[str, Any]]] = {}

    def get(self, run_id: str, key: str) -> dict[str, Any] | None:
        if run_id not in self.cache:
            self.cache[run_id] = {r["key"]: r for r in self.history.records(run_id)}
        return self.cache[run_id].get(key)


def series_labels(fields: list[dict[str, Any]], recipes: list[dict[str, Any]]) -> list[str]:
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


def fields_of(row: Any) -> dict[str, Any]:
    out = {f: value_of(row, f) for f in FIELDS}
    threads = out["threads"]
    out["threads"] = (
        None if threads is None or as_number(threads) != as_number(threads) else int(threads)
    )
    out["workers"] = (
        int(as_number(out["workers"])) if math.isfinite(as_number(out["workers"])) else 1
    )
    return out


def series_points(rows: pd.DataFrame, axis: Axis, by_id: dict[str, RunInfo],
            settings: str) -> list[dict[str, str]]:  # fmt: skip
    """One table row per run of a chart: where it is drawn, which run, when, tag, settings."""
    out = []
    for row in rows.sort_values("x").itertuples(index=False):
        run = by_id[row.run_id]
        tp, acc = as_number(row.throughput), as_number(row.test_accuracy)
        out.append({
            "commit": axis.labels[axis.slot_of(run.run_id)].split("\n")[0],
            "run": run.run_id, "date": run.created, "tag": run.tag, "suite": run.suite,
            "branch": run.branch, "status": str(row.status),
            "throughput": rate(tp) if math.isfinite(tp) else "—",
            "accuracy": f"{acc * 100:.1f}%" if math.isfinite(acc) else "—",
            "settings": settings,
        })  # fmt: skip
    return out


def recipe_of(records: Records, rows: pd.DataFrame) -> dict[str, Any]:
    row = rows.iloc[-1]
    return (records.get(str(row["run_id"]), str(row["key"])) or {}).get("recipe") or {}


def newest_first(part: pd.DataFrame, column: str) -> list[str]:
    """Values of ``column`` ordered by their newest run, newest first (the current one on top)."""
    newest = part.groupby(column)["created"].max().sort_values(ascending=False, kind="stable")
    return [str(v) for v in newest.index]


def never_ok(cells: pd.DataFrame) -> list[str]:
    """Cell keys that have no successful run to chart."""
    ok = set(cells.loc[cells["status"] == "ok", "key"])
    return [k for k in dict.fromkeys(cells["key"]) if k not in ok]
