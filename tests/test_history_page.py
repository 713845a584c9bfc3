"""The history page from a synthetic history: one chart per cell, a real slowdown found, no
false alarm on a steady cell, everything escaped, nothing fetched from the network.

Records are made by a small factory: lognormal step times in interleaved rounds, summarised by
the same ``bench.stats.summarize_steps`` the runner uses, so medians and intervals are consistent
with the raw steps the ratio CIs are computed from.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.image import imread

from bench import stats
from bench.catalog import SUITES
from bench.history import History
from bench.history_page import build_history_page
from bench.specs import SCHEMA_VERSION

EVIL = "<script>alert(1)</script>"
RECIPE = SUITES["quick"].recipe
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
    return f"{i:x}" * 40 if i else "0" * 40


def make_record(
    run_id: str,
    framework: str,
    model: str,
    step_s: float,
    rng: np.random.Generator,
    status: str = "ok",
    error: str | None = None,
) -> dict[str, Any]:
    """A record as the runner writes it: 6 interleaved rounds of 40 steps, 10 warm-up."""
    sizes = [40] * 6
    steps = rng.lognormal(np.log(step_s), 0.08, sum(sizes))
    steps[:10] *= 5  # tracing and allocator growth
    summary = stats.summarize_steps(steps, RECIPE.batch_size, sizes, RECIPE.warmup_steps)
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
        "recipe": RECIPE.to_dict(),
        "status": status,
        "error": error,
        "synthetic_data": False,
        "test_accuracy": float(rng.normal(0.62, 0.01)) if ok else None,
        "throughput": summary["throughput"] if ok else None,
        "step_latency_ms": summary["step_latency_ms"] if ok else None,
        "warmup_steps": RECIPE.warmup_steps,
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
            self.figures.append({"class": a.get("class"), "key": a.get("data-key"), "text": ""})
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
    assert "2 machines are mixed" in mixed
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
