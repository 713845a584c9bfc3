"""The report's memory figure is the one ``bench compare`` gates on (training steps, one fresh
worker per timing pass) with its 95% interval: in the summary table, its numbers and its chart,
with the whole-run peak and the baseline beside it, and older records' figures labelled."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matplotlib.container import BarContainer

from bench.measure.memory import gated_figure
from bench.report import fmt, tables
from bench.report.cells import load_run
from bench.report.figures import framework_colors, memory_chart
from bench.report.svg import style
from tests.report.fakerun import OLD_MEMORY

pytestmark = pytest.mark.filterwarnings("error")


def _summary(html: str) -> str:
    match = re.search(r'<section id="summary">(.*?)</section>', html, re.S)
    assert match
    return match.group(1)


def _with_interval(fake_run: Path) -> list[dict]:
    return [
        r
        for r in load_run(fake_run).records
        if r["status"] == "ok" and (r.get("memory") or {}).get("steps")
    ]


def test_the_fake_run_has_gated_figures_whole_run_fallbacks_and_an_older_record(
    fake_run: Path,
) -> None:
    labels = {r["key"]: (gated_figure(r) or {}).get("label") for r in load_run(fake_run).records}
    assert labels["torch/mlp/mnist1d"] == "training steps"
    assert labels["torch/cnn/digits"] == "whole run"  # no timing passes
    assert labels["/".join(OLD_MEMORY)] == "peak RSS"  # written before ``memory`` existed


def test_the_table_shows_the_gated_figure_with_its_interval(html: str, fake_run: Path) -> None:
    summary = _summary(html)
    assert "<small>MiB above import</small><small>training steps [95% CI]</small>" in summary
    with_interval = _with_interval(fake_run)
    assert len(with_interval) >= 10
    for r in with_interval:
        figure = gated_figure(r)
        assert figure is not None and figure["low"] is not None
        shown = (
            f"<strong>{fmt.mib(figure['bytes'], 1)}</strong>"
            f"<small>[{fmt.mib(figure['low'], 1)} – {fmt.mib(figure['high'], 1)}]</small>"
        )
        assert shown in summary, r["key"]
        m = r["memory"]
        whole = (
            f'<small class="whole"><span class="nowrap">baseline {fmt.mib(m["baseline_bytes"])}'
            f'</span> + <span class="nowrap">whole run {fmt.mib(m["peak_above_baseline_bytes"])}'
            " MiB</span></small>"
        )
        assert whole in summary, r["key"]
    rows = re.findall(r'<tr class="cell.*?</tr>', summary, re.S)
    assert sum("<small>whole run</small>" in row for row in rows) == 2  # torch, keras on digits
    assert sum("<small>peak RSS</small>" in row for row in rows) == 1  # the older record
    assert "the training pass's whole run" in summary  # the tooltip says what the line is


def test_the_numbers_carry_the_gated_figure_and_keep_the_old_columns(fake_run: Path) -> None:
    numbers = tables.numbers(load_run(fake_run))
    for column in ("peak_rss", "baseline_rss", "memory_mib", "memory_ci_low", "memory_ci_high",
                   "memory_n", "memory_label"):  # fmt: skip
        assert column in numbers.columns, column
    row = numbers.loc["torch/mlp/mnist1d"]
    assert row["memory_label"] == "training steps" and row["memory_n"] == 3
    assert row["memory_ci_low"] < row["memory_mib"] < row["memory_ci_high"]
    whole = numbers.loc["torch/cnn/digits"]
    assert whole["memory_label"] == "whole run" and whole["memory_ci_low"] != whole["memory_ci_low"]
    assert numbers.loc["keras/gru/mnist1d", "memory_label"] == ""  # failed: no figure


def test_the_memory_chart_draws_each_interval_as_an_error_bar(fake_run: Path) -> None:
    run = load_run(fake_run)
    numbers = tables.numbers(run)
    with style():
        fig = memory_chart(run, numbers, framework_colors(run.frameworks()))
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    with_error = [c for c in bars if c.errorbar is not None]
    assert len(with_error) == len(_with_interval(fake_run))
    for c in with_error:  # the error bar spans the interval, in MiB
        (segment,) = c.errorbar.lines[2][0].get_segments()
        low, high = sorted(segment[:, 1])
        assert any(
            low == pytest.approx(r["memory_ci_low"]) and high == pytest.approx(r["memory_ci_high"])
            for _, r in numbers.iterrows()
        )
    hatched = [p for c in bars for p in c.patches if p.get_hatch()]
    assert len(hatched) == 3  # two whole-run fallbacks and the older record: no interval
    title = ax.get_title(loc="left")
    assert "training steps" in title and "95 % CI" in title
    assert "above baseline" in ax.get_ylabel()


def test_the_page_svg_holds_the_error_bars(html: str, fake_run: Path) -> None:
    svg = re.search(r'<svg id="fig-memory".*?</svg>', html, re.S)
    assert svg
    ids = set(re.findall(r'id="fig-memory-memory-ci-(\d+)"', svg.group(0)))
    assert len(ids) == len(_with_interval(fake_run))
