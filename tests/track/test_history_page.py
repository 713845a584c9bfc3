"""The history page from a synthetic history: one chart per cell series, a real slowdown found,
no false alarm on a steady cell nor where only the recipe or settings changed, readable x labels
(measured in headless Chromium), filters, everything escaped, nothing fetched from the network.

Records are made by a small factory: lognormal step times in interleaved rounds, summarised by the
same ``bench.measure.summaries.summarize_steps`` the runner uses, so medians and intervals are
consistent with the raw steps the ratio CIs are computed from.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.image import imread

from bench.measure import summaries
from bench.track.history import History
from bench.track.page import build_history_page
from bench.zoo.specs import SCHEMA_VERSION, Recipe

EVIL = "<script>alert(1)</script>"
#: The quick and paper suites' recipes (written out: the catalogue's layout is not this test's).
RECIPE = Recipe(steps=300, eval_every=50)
PAPER = Recipe(steps=6000, eval_every=250)
N_RUNS = 6
FINGERPRINT = "aaaa1111bbbb2222"
#: torch steady, tf 15% slower in the last run, keras failing once, one key with markup in it.
STEP_S = {
    ("torch", "mlp"): 0.0010,
    ("tf", "mlp"): 0.0014,
    ("keras", "mlp"): 0.0020,
    ("torch", EVIL): 0.0030,
}
SLOWED = "tf/mlp/mnist1d"
STEADY = "torch/mlp/mnist1d"
FAILS = ("keras/mlp/mnist1d", 2)  # (key, run index)
XMLNS = re.compile(r'xmlns(:\w+)?="http://www\.w3\.org/[^"]*"')


def commit(i: int) -> str:
    return f"{i:02x}" * 20


def make_record(
    run_id: str,
    framework: str,
    model: str,
    step_s: float,
    rng: np.random.Generator,
    status: str = "ok",
    error: str | None = None,
    recipe: Recipe = RECIPE,
    accuracy: float = 0.62,
) -> dict[str, Any]:
    """A record as the runner writes it: 6 interleaved rounds of 40 steps, 10 warm-up."""
    sizes = [40] * 6
    steps = rng.lognormal(np.log(step_s), 0.08, sum(sizes))
    steps[:10] *= 5  # tracing and allocator growth
    summary = summaries.summarize_steps(steps, recipe.batch_size, sizes, recipe.warmup_steps)
    ok = status == "ok"
    return {
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "key": f"{framework}/{model}/mnist1d",
        "framework": framework,
        "family": framework,
        "tier": "out of the box",
        "model": model,
        "dataset": "mnist1d",
        "suite": "quick",
        "seed": 0,
        "device": "cpu",
        "recipe": recipe.to_dict(),
        "status": status,
        "error": error,
        "synthetic_data": False,
        "test_accuracy": float(rng.normal(accuracy, 0.01)) if ok else None,
        "throughput": summary["throughput"] if ok else None,
        "step_latency_ms": summary["step_latency_ms"] if ok else None,
        "warmup_steps": recipe.warmup_steps,
        "peak_rss_bytes": int(rng.normal(400, 5) * 2**20),
        "peak_device_memory_bytes": None,
        "step_times_s": steps.tolist() if ok else [],
        "round_sizes": sizes if ok else [],
        "curve": [],
    }


def make_history(path: Path, n_runs: int = N_RUNS, fingerprint: str = FINGERPRINT) -> History:
    history = History(path)
    rng = np.random.default_rng(7)
    for i in range(n_runs):
        run_id = f"2026010{i}-120000-{commit(i)[:6]}-{fingerprint[:4]}"
        history.add_run(
            {
                "run_id": run_id,
                "created": f"2026-01-0{i + 1}T12:00:00+00:00",
                "git": {"commit": commit(i), "branch": "main", "dirty": False},
                "fingerprint": fingerprint,
                "cpu_model": "Test CPU",
                "logical_cores": 2,
                "gpus": [],
                "suite": "quick",
            }
        )
        for (framework, model), step_s in STEP_S.items():
            key = f"{framework}/{model}/mnist1d"
            if key == SLOWED and i == n_runs - 1:
                step_s *= 1 / 0.85  # throughput down 15%
            if (key, i) == FAILS:
                history.add_record(make_record(run_id, framework, model, step_s, rng, "failed",
                                               f"RuntimeError: {EVIL}"))  # fmt: skip
                continue
            history.add_record(make_record(run_id, framework, model, step_s, rng))
    return history


class _Page(HTMLParser):
    """Figures (class, data-key, and the text inside each) and <svg> elements of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[dict[str, Any]] = []
        self.svgs = 0
        self._in_figure = False
        self._svg_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "figure":
            self.figures.append(
                {"class": a.get("class"), "key": a.get("data-key"), "text": "",
                 "series": a.get("data-series"), "label": a.get("data-label")}
            )  # fmt: skip
            self._in_figure = True
        elif tag == "svg":
            self.svgs += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._in_figure = False

    def handle_data(self, data: str) -> None:
        if self._in_figure:
            self.figures[-1]["text"] += data


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("history")
    return build_history_page(make_history(root / "history.sqlite"), root / "page", FINGERPRINT)


@pytest.fixture(scope="module")
def html(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _parse(html: str) -> _Page:
    parsed = _Page()
    parsed.feed(html)
    return parsed


def test_one_chart_per_cell_key(html: str) -> None:
    figures = _parse(html).figures
    cells = [f["key"] for f in figures if f["class"] == "cell-chart"]
    keys = {f"{fw}/{m}/mnist1d" for fw, m in STEP_S}
    assert sorted(cells) == sorted(keys)  # exactly one each, the markup key included
    ratios = [f["key"] for f in figures if f["class"] == "ratio-chart"]
    assert ratios == ["mlp/mnist1d"], "torch, tf and keras share mlp/mnist1d; EVIL is alone"


def test_slowdown_found_and_steady_cell_quiet(html: str) -> None:
    text = {f["key"]: f["text"] for f in _parse(html).figures if f["class"] == "cell-chart"}
    assert f"throughput changed at {commit(N_RUNS - 1)[:7]}" in text[SLOWED]
    assert re.search(r"samples/s \(-1[3-7]\.\d%\)", text[SLOWED]), text[SLOWED]
    assert "throughput changed" not in text[STEADY]
    assert "failed in" in text[FAILS[0]], "a failed run is listed under its chart"


def test_everything_is_escaped_and_offline(html: str) -> None:
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html  # the key and the error are shown, as text
    stripped = XMLNS.sub("", html)
    assert "http://" not in stripped and "https://" not in stripped
    assert "<link" not in html and "src=" not in html


def test_ratio_chart_has_paired_intervals(html: str) -> None:
    ratio = next(f for f in _parse(html).figures if f["class"] == "ratio-chart")
    assert re.search(r"latest torch ÷ tf: \d+\.\d\d× \(95% CI \d", ratio["text"])


def test_empty_history(tmp_path: Path) -> None:
    page = build_history_page(History(tmp_path / "h.sqlite"), tmp_path / "page")
    html = page.read_text(encoding="utf-8")
    assert "The history is empty" in html and "<figure" not in html


def test_one_run_and_other_machines(tmp_path: Path) -> None:
    history = make_history(tmp_path / "h.sqlite", n_runs=1)
    make_history(tmp_path / "h.sqlite", n_runs=2, fingerprint="cccc3333dddd4444")
    mine = build_history_page(history, tmp_path / "mine", FINGERPRINT).read_text("utf-8")
    assert "Only one run so far" in mine and "left out" in mine
    assert len(_parse(mine).figures) == len(STEP_S) + 1
    mixed = build_history_page(history, tmp_path / "all").read_text("utf-8")
    assert "Runs from 2 machines" in mixed
    keys = [f["key"] for f in _parse(mixed).figures if f["class"] == "cell-chart"]
    assert sorted(keys) == sorted(2 * [f"{fw}/{m}/mnist1d" for fw, m in STEP_S]), (
        "each machine's runs are a series of their own"
    )
    none = build_history_page(history, tmp_path / "none", "ffff").read_text("utf-8")
    assert "No run in the history was made on this machine" in none


@pytest.mark.browser
def test_page_renders_in_chromium(page: Path, tmp_path: Path) -> None:
    from tests.report.chromium import dump_dom, require_chromium, screenshot

    browser = require_chromium()
    png = screenshot(browser, page, tmp_path / "shot.png", size=(1300, 2400))
    pixels = imread(png)[..., :3]
    assert float(np.var(pixels)) > 0, "the screenshot is one flat colour"
    assert np.count_nonzero(pixels.min(axis=-1) < 0.9) > 10_000, "the screenshot is blank"
    dom = _parse(dump_dom(browser, page))
    assert dom.figures and dom.svgs == len(dom.figures), "one <svg> per chart, as parsed"


# --------------------------------------------------------------------------------------------
# series: quick and paper runs of the same cells, and runs at two thread counts

#: (suite, recipe, threads, step-time factor, accuracy, commits it ran on). Each setting is
#: steady; together they step: 2 threads at commits 0-2 (fast), paper runs at 3-5 (slow).
SETTINGS = (
    ("quick", RECIPE, 1, 1.0, 0.55, range(6)),
    ("quick", RECIPE, 2, 1 / 1.7, 0.55, range(3)),
    ("paper", PAPER, 1, 2.0, 0.68, range(3, 6)),
)
SERIES_STEP_S = {"torch": 0.0010, "tf": 0.0013}
START = datetime(2026, 2, 1, tzinfo=UTC)


def add_run(history: History, n: int, i: int, suite: str, threads: int, **env: Any) -> str:
    """Run number ``n`` (its time order) of commit ``i``, as ``bench run`` records it."""
    run_id = f"2026-r{n:03d}-{commit(i)[:6]}"
    history.add_run({
        "run_id": run_id, "created": (START + timedelta(hours=n)).isoformat(),
        "git": {"commit": commit(i), "branch": "main", "dirty": False},
        "fingerprint": FINGERPRINT, "cpu_model": "Test CPU", "logical_cores": 2, "gpus": [],
        "suite": suite, "settings": {"device": "cpu", "threads": threads}, **env,
    })  # fmt: skip
    return run_id


def make_series_history(path: Path) -> tuple[History, dict[str, tuple[str, int]]]:
    """The history, and each run's (suite, threads)."""
    history, rng = History(path), np.random.default_rng(11)
    runs = {}
    order = sorted((i, k) for k, s in enumerate(SETTINGS) for i in s[-1])
    for n, (i, k) in enumerate(order):
        suite, recipe, threads, factor, accuracy, _ = SETTINGS[k]
        run_id = add_run(history, n, i, suite, threads, tag=f"{suite}-{threads}t")
        runs[run_id] = (suite, threads)
        for fw, step_s in SERIES_STEP_S.items():
            history.add_record(make_record(run_id, fw, "mlp", step_s * factor, rng,
                                           recipe=recipe, accuracy=accuracy))  # fmt: skip
    return history, runs


@pytest.fixture(scope="module")
def series_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, History, dict]:
    root = tmp_path_factory.mktemp("series")
    history, runs = make_series_history(root / "history.sqlite")
    return build_history_page(history, root / "page", FINGERPRINT), history, runs


RUN_ID = re.compile(r"2026-r\d{3}-\w{6}")


def test_one_series_per_recipe_and_settings(series_page: tuple[Path, History, dict]) -> None:
    page, _, runs = series_page
    figures = _parse(page.read_text("utf-8")).figures
    for fw in SERIES_STEP_S:
        charts = [
            f for f in figures if f["class"] == "cell-chart" and f["key"] == f"{fw}/mlp/mnist1d"
        ]
        assert len(charts) == len(SETTINGS), [c["label"] for c in charts]
        assert len({c["series"] for c in charts}) == len(SETTINGS)
        labels = sorted(c["label"] for c in charts)
        assert any("steps 300" in lab for lab in labels) and any(
            "steps 6000" in lab for lab in labels
        )
        assert any("2 threads" in lab for lab in labels) and any(
            "1 thread" in lab for lab in labels
        )
        for chart in charts:
            shown = set(RUN_ID.findall(chart["text"]))
            settings = {runs[r] for r in shown}
            assert len(settings) == 1, f"{chart['label']} mixes {settings}"
            expected = {r for r, s in runs.items() if s == next(iter(settings))}
            assert shown == expected, "every run of the setting, and only those, in its chart"
    ratios = [f for f in figures if f["class"] == "ratio-chart"]
    assert len(ratios) == len(SETTINGS), "one speed-ratio chart per setting"


def test_no_change_point_where_only_the_recipe_or_settings_changed(
    series_page: tuple[Path, History, dict],
) -> None:
    page, history, _ = series_page
    for chart in _parse(page.read_text("utf-8")).figures:
        assert "throughput changed" not in chart["text"], (chart["key"], chart["label"])
    # Control: drawn as one line per cell key (as before), the settings change looks like a step.
    from bench.track.page_data import change_indices

    cells = history.cells()
    torch = cells[cells["framework"] == "torch"].assign(commit=lambda d: d["git_commit"])
    per_commit = torch.groupby("commit", sort=False)["throughput"].median().to_numpy(float)
    assert change_indices(per_commit)[0], "the fixture must step when its settings are mixed"


def test_series_key_reads_old_and_new_records_alike(tmp_path: Path) -> None:
    """Fields later branches add (scope, precision, workers...) default to what old runs did."""
    from bench.track.series import recipe_hash, series_fields, series_id

    rng = np.random.default_rng(0)
    old = make_record("r", "torch", "mlp", 0.001, rng)
    recipe = {**old["recipe"], "label_smoothing": 0.0, "nesterov": False}
    new = {**old, "scope": "step", "precision": "fp32", "memory_format": "contiguous",
           "workers": 1, "scaling": "none", "recipe": recipe}  # fmt: skip
    env = {"fingerprint": FINGERPRINT, "settings": {"threads": 2, "device": "cpu"}}
    assert series_id(series_fields(old, env)) == series_id(series_fields(new, env))
    for change in ({"scope": "loop"}, {"precision": "bfloat16"}, {"workers": 2},
                   {"recipe": PAPER.to_dict()}, {"device": "cuda"}):  # fmt: skip
        assert series_id(series_fields({**new, **change}, env)) != series_id(
            series_fields(new, env)), change  # fmt: skip
    other_threads = {**env, "settings": {"threads": 1}}
    assert series_id(series_fields(old, other_threads)) != series_id(series_fields(old, env))
    assert recipe_hash(RECIPE.to_dict()) != recipe_hash(PAPER.to_dict())
    assert recipe_hash({**RECIPE.to_dict(), "lr": 1}) == recipe_hash(
        {**RECIPE.to_dict(), "lr": 1.0}
    )


OLD_SCHEMA = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, created TEXT, git_commit TEXT, git_branch TEXT,
    git_dirty INTEGER, fingerprint TEXT, cpu_model TEXT, logical_cores INTEGER, gpus TEXT,
    suite TEXT, tag TEXT, source TEXT, env_json TEXT NOT NULL);
CREATE TABLE cells (run_id TEXT NOT NULL REFERENCES runs(run_id), key TEXT NOT NULL,
    framework TEXT, model TEXT, dataset TEXT, status TEXT, test_accuracy REAL, throughput REAL,
    throughput_ci_low REAL, throughput_ci_high REAL, latency_p50_ms REAL, latency_p99_ms REAL,
    peak_rss_bytes INTEGER, peak_device_memory_bytes INTEGER, time_to_accuracy_s REAL,
    time_to_first_step_s REAL, record_json TEXT NOT NULL, PRIMARY KEY (run_id, key));
"""


def test_a_database_without_series_columns_is_migrated(tmp_path: Path) -> None:
    import json
    import sqlite3

    fresh, _ = make_series_history(tmp_path / "new.sqlite")
    old_path = tmp_path / "old.sqlite"
    with sqlite3.connect(old_path) as conn:  # the layout before series keys, filled as then
        conn.executescript(OLD_SCHEMA)
        for run_id in fresh.runs()["run_id"]:
            env = fresh.run_env(run_id)
            conn.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", (
                run_id, env["created"], env["git"]["commit"], "main", 0, FINGERPRINT, "Test CPU",
                2, "", env["suite"], env["tag"], "bench run", json.dumps(env)))  # fmt: skip
            for r in fresh.records(run_id):
                conn.execute("INSERT INTO cells (run_id, key, framework, model, dataset, status, "
                             "throughput, record_json) VALUES (?,?,?,?,?,?,?,?)", (
                    run_id, r["key"], r["framework"], r["model"], r["dataset"], r["status"],
                    r["throughput"]["median"], json.dumps(r)))  # fmt: skip
    migrated = History(old_path).cells()
    with sqlite3.connect(old_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    columns = ["run_id", "key", "series", "recipe_hash", "threads", "precision", "scope"]
    want = fresh.cells()[columns].sort_values(["run_id", "key"]).reset_index(drop=True)
    got = migrated[columns].sort_values(["run_id", "key"]).reset_index(drop=True)
    assert got.equals(want)
    assert migrated["series"].nunique() == 2 * len(SETTINGS)


def test_a_newer_database_layout_is_refused(tmp_path: Path) -> None:
    import sqlite3

    from bench.run.results import SchemaError

    path = tmp_path / "h.sqlite"
    History(path)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(SchemaError, match="newer than this bench"):
        History(path)


def test_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench import cli
    from bench.track.filters import Filters, since_date

    history, runs = make_series_history(tmp_path / "h.sqlite")

    def charted(filters: Filters) -> tuple[set[str], set[str]]:
        html = build_history_page(history, tmp_path / "p", FINGERPRINT, filters).read_text()
        figures = [f for f in _parse(html).figures if f["class"] == "cell-chart"]
        return {f["key"] for f in figures}, set(RUN_ID.findall("".join(f["text"] for f in figures)))

    keys, shown = charted(Filters(suite="paper"))
    assert shown == {r for r, (suite, _) in runs.items() if suite == "paper"}
    keys, shown = charted(Filters(frameworks=("tf",), models=("mlp",)))
    assert keys == {"tf/mlp/mnist1d"} and shown == set(runs)
    keys, shown = charted(Filters(since=since_date("2026-02-01T05:00")))
    assert shown == {r for r in runs if int(r[6:9]) >= 5}
    html = build_history_page(
        history, tmp_path / "p", None, Filters(branch="main", since=since_date("2027-01-01"))
    ).read_text()
    assert "No run matches the filters" in html and "<figure" not in html
    argv = [
        "history",
        "--report",
        "--history",
        str(tmp_path / "h.sqlite"),
        "--out",
        str(tmp_path / "cli"),
    ]
    assert cli.main([*argv, "--branch", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown branch 'nope'; known: main" in err[0]
    assert (
        cli.main(
            [*argv, "--all-machines", "--branch", "main", "--models", "mlp", "--suite", "quick"]
        )
        == 0
    )
    assert "history page:" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# readable x axis, measured in the browser

#: Appended to a copy of a page: every x label's box, per figure and axes, as JSON in a <pre>.
PROBE = """<script>
const boxes = [...document.querySelectorAll('g[id*="-xlabel-"]')].map(g => {
  const r = g.getBoundingClientRect();
  return {id: g.id, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
});
const pre = document.createElement('pre'); pre.id = 'boxes';
pre.textContent = JSON.stringify(boxes); document.body.appendChild(pre);
</script>"""


def label_boxes(browser: str, page: Path, tmp_path: Path) -> dict[str, list[dict[str, float]]]:
    """The x label boxes Chromium laid out, grouped by figure and axes (``h-cell-1-xlabel-0``)."""
    import json

    from tests.report.chromium import dump_dom

    probe = tmp_path / f"probe-{page.parent.name}.html"
    probe.write_text(page.read_text("utf-8").replace("</body>", PROBE + "</body>"), "utf-8")
    dom = dump_dom(browser, probe)
    found = re.search(r'<pre id="boxes">(.*?)</pre>', dom, re.S)
    assert found, "the probe did not run"
    groups: dict[str, list[dict[str, float]]] = {}
    for box in json.loads(found.group(1).replace("&quot;", '"')):
        groups.setdefault(box["id"].rsplit("-", 1)[0], []).append(box)
    return groups


def overlaps(boxes: list[dict[str, float]]) -> list[tuple[str, str]]:
    return [(a["id"], b["id"]) for a, b in itertools.combinations(boxes, 2)
            if a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"]
            and b["top"] < a["bottom"]]  # fmt: skip


def grouped_history(path: Path, runs_per_commit: tuple[int, ...]) -> History:
    history, rng, n = History(path), np.random.default_rng(3), 0
    for i, count in enumerate(runs_per_commit):
        for _ in range(count):
            run_id = add_run(history, n, i, "quick", 1, tag=f"t{n}")
            history.add_record(make_record(run_id, "torch", "mlp", 0.001, rng))
            n += 1
    return history


@pytest.mark.browser
def test_repeated_runs_of_a_commit_share_one_readable_label(tmp_path: Path) -> None:
    from tests.report.chromium import require_chromium

    browser = require_chromium()
    history = grouped_history(tmp_path / "h.sqlite", (3, 2))
    page = build_history_page(history, tmp_path / "page", FINGERPRINT)
    groups = label_boxes(browser, page, tmp_path)
    assert set(groups) == {f"h-cell-1-xlabel-{i}" for i in range(3)}, "three panels"
    for axes, boxes in groups.items():
        assert len(boxes) == 2, f"{axes}: one label per commit, not one per run"
        assert all(b["right"] > b["left"] and b["bottom"] > b["top"] for b in boxes)
        assert not overlaps(boxes), axes
    text = _parse(page.read_text("utf-8")).figures[0]["text"]
    assert f"{commit(0)[:7]} ×3" in text and f"{commit(1)[:7]} ×2" in text
    assert len(set(RUN_ID.findall(text))) == 5 and "t4" in text, "each run listed with its tag"


@pytest.mark.browser
def test_many_commits_are_thinned_until_no_label_overlaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30 commits: every label kept would overprint (the control shows the probe sees it)."""
    from bench.track import page_charts
    from tests.report.chromium import require_chromium

    browser = require_chromium()
    history = grouped_history(tmp_path / "h.sqlite", (1, 2) * 15)
    page = build_history_page(history, tmp_path / "thinned", FINGERPRINT)
    groups = label_boxes(browser, page, tmp_path)
    assert groups and all(2 <= len(b) < 30 for b in groups.values())
    assert not any(overlaps(b) for b in groups.values())

    def label_only(fig: Any) -> None:
        fig.draw_without_rendering()
        for i, ax in enumerate(fig.axes):
            for n, label in enumerate(ax.get_xticklabels()):
                label.set_gid(f"xlabel-{i}-{n}")

    monkeypatch.setattr(page_charts, "declutter", label_only)
    control = build_history_page(history, tmp_path / "control", FINGERPRINT)
    groups = label_boxes(browser, control, tmp_path)
    assert [len(b) for b in groups.values()] == [30] * 3
    assert all(overlaps(b) for b in groups.values())
