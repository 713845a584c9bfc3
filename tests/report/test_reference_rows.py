"""The scikit-learn reference rows: beside the frameworks in the console and the report, marked
"reference", never ranked ("vs fastest", the fastest mark, the speed ratios), with the fitted
optimum as a second row, and in the paper suite's logreg group beside the paper's 32 %.

The fake run's reference steps twice as fast as torch (``fakerun._SLOWDOWN``): were it ranked, it
would be everyone's "fastest"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console

from bench.report import build_report
from bench.report.cells import load_run
from bench.report.ratios import speed_ratios
from bench.report.tables import summary
from bench.run.progress import outcome, results_table
from tests.report.chromium import dump_dom, require_chromium, screenshot
from tests.report.fakerun import write_fake_run

FRAMEWORKS = ("torch", "tf", "keras", "sklearn")
PAIRS = (("logreg", "mnist1d"), ("mlp", "mnist1d"))


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_run(
        tmp_path_factory.mktemp("results"), frameworks=FRAMEWORKS, pairs=PAIRS, failed={},
        suite="paper",
    )  # fmt: skip


@pytest.fixture(scope="module")
def paper_report(paper_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(paper_run, tmp_path_factory.mktemp("report"))


def test_the_reference_runs_logreg_only(paper_run: Path) -> None:
    run = load_run(paper_run)
    assert [r["framework"] for r in run.cells("logreg", "mnist1d")] == list(FRAMEWORKS)
    assert "sklearn" not in [r["framework"] for r in run.cells("mlp", "mnist1d")]


def test_summary_marks_both_reference_rows_and_ranks_only_the_frameworks(paper_run: Path) -> None:
    groups = {(g.model, g.dataset): g for g in summary(load_run(paper_run))}
    logreg = groups["logreg", "mnist1d"]
    assert logreg.paper == "32%"
    by_form = {(r["framework"], r["form"]): r for r in logreg.rows}
    stepped = by_form["sklearn", "MLPClassifier Adam steps (partial_fit)"]
    optimum = by_form["sklearn", "LogisticRegression (lbfgs, C=inf)"]
    for row in (stepped, optimum):
        assert row["reference"] and row["relative"] == "reference" and not row["fastest"]
    assert stepped["throughput"] != "—" and stepped["throughput_ci"]  # it is timed all the same
    assert optimum["accuracy"] == "32.3%" and optimum["throughput"] == "—"
    assert optimum["note"] == "fit 110.0 ms · 118 iterations · converged"
    ranked = [r for r in logreg.rows if not r["reference"]]
    assert [r["relative"] for r in ranked if r["fastest"]] == ["1.00×"]  # torch, not sklearn
    assert all(re.fullmatch(r"\d\.\d\d×", r["relative"]) for r in ranked)


def test_no_speed_ratio_involves_the_reference(paper_run: Path) -> None:
    ratios = speed_ratios(load_run(paper_run))
    assert ratios and all("sklearn" not in (r["a"], r["b"]) for r in ratios)
    assert len([r for r in ratios if r["model"] == "logreg"]) == 3  # torch, tf, keras pairwise


def test_console_table_says_reference_and_shows_the_optimum(paper_run: Path) -> None:
    records = load_run(paper_run).records
    console = Console(width=250, record=True)
    console.print(results_table(records))
    text = console.export_text()
    sklearn_lines = [line for line in text.splitlines() if "sklearn" in line]
    assert len(sklearn_lines) == 2, text
    assert all("reference" in line for line in sklearn_lines)
    assert "sklearn optimum" in sklearn_lines[1] and "32.3%" in sklearn_lines[1]
    assert "converged" in sklearn_lines[1]
    torch = next(line for line in text.splitlines() if "│ torch " in line and "logreg" in line)
    assert "1.00x" in torch  # the fastest framework, the reference set aside
    reference = next(r for r in records if r["framework"] == "sklearn")
    assert "reference; L-BFGS optimum, C=inf, 118 iterations" in outcome(reference)


def test_report_html_has_the_reference_rows_in_the_logreg_group(paper_report: Path) -> None:
    html = paper_report.read_text(encoding="utf-8")
    group = _logreg_group(html)
    assert "paper 32%" in group
    assert group.count('class="cell reference"') == 2
    assert "LogisticRegression (lbfgs, C=inf)" in group and "32.3%" in group
    assert "MLPClassifier Adam steps (partial_fit)" in group


@pytest.mark.browser
def test_reference_rows_in_chromium(paper_report: Path, tmp_path: Path) -> None:
    """The paper suite's report as Chromium renders it: a non-blank page whose logreg group
    holds the two reference rows beside the paper's 32 %."""
    import numpy as np
    from matplotlib.image import imread

    browser = require_chromium()
    png = screenshot(browser, paper_report, tmp_path / "reference.png", size=(1600, 1400))
    pixels = imread(png)[..., :3]
    assert np.count_nonzero(pixels.min(axis=-1) < 0.9) > 10_000, "the screenshot is blank"
    # the reference rows' own background (#fbf8ef) is on screen
    tint = np.all(np.abs(pixels - np.array([0xFB, 0xF8, 0xEF]) / 255) < 2 / 255, axis=-1)
    assert np.count_nonzero(tint) > 5_000, "no reference row drawn"
    print(f"screenshot: {png}")
    group = _logreg_group(dump_dom(browser, paper_report))
    assert "paper 32%" in group and group.count('class="cell reference"') == 2


def _logreg_group(html: str) -> str:
    """The summary table's logreg/mnist1d <tbody>."""
    bodies = re.findall(r"<tbody>.*?</tbody>", html, flags=re.S)
    found = [b for b in bodies if 'class="model">logreg<' in b]
    assert len(found) == 1, "one logreg group in the summary"
    return found[0]
