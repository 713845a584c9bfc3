"""The sweep report and console: the fit table, crossovers in words, the throughput-point label
and the cuts on the page; and the page as headless Chromium draws it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from bench.report.sweeps import write_sweep_report
from bench.run.store import RunDir
from bench.track.sweep_text import sweep_text
from tests.report.chromium import dump_dom, require_chromium, screenshot
from tests.report.fakesweep import write_fake_sweep


@pytest.fixture(scope="module")
def sweep_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = write_fake_sweep(tmp_path_factory.mktemp("sweep"), threads=(1, 2))
    return write_sweep_report(run, tmp_path_factory.mktemp("sweep-report"))


def test_the_page_says_what_a_point_is_and_what_was_cut(sweep_page: Path) -> None:
    html = sweep_page.read_text(encoding="utf-8")
    assert "never trained to accuracy" in html
    assert "warmup steps: 3 (suite 10)" in html and "latency steps: 0 (suite 50)" in html
    assert html.count("<svg") == 2  # one small-multiple figure per model line (1 and 2 threads)
    assert "crossover: torch faster at batch" in html and "tf faster from batch" in html
    assert (
        "Thread scaling" in html
        and "warm-up training steps, in the point's own fresh worker" in html
    )
    assert '<section id="environment">' in html and '<table class="kv env">' in html


def test_the_console_prints_fits_and_crossovers(tmp_path: Path) -> None:
    run = RunDir.open(write_fake_sweep(tmp_path))
    text = sweep_text(list(run.latest_by_key().values()))
    assert "throughput point" in text and "a (ms/step)" in text
    torch_row = next(line for line in text.splitlines() if line.strip().startswith("torch  "))
    a_ms, c_us = float(torch_row.split()[1]), float(torch_row.split()[4])
    assert a_ms == pytest.approx(0.4, rel=0.15) and c_us == pytest.approx(3.0, rel=0.15)
    assert "crossover: torch faster at batch" in text


@pytest.mark.browser
def test_the_sweep_page_renders_in_chromium(sweep_page: Path, tmp_path: Path) -> None:
    browser = require_chromium()
    png = screenshot(browser, sweep_page, tmp_path / "sweep.png", size=(1400, 2600))
    pixels = imread(png)[..., :3]
    assert float(np.var(pixels)) > 0, "the screenshot is one flat colour"
    assert np.count_nonzero(pixels.min(axis=-1) < 0.9) > 10_000, "the screenshot is blank"
    print(f"screenshot: {png}")
    dom = dump_dom(browser, sweep_page)
    assert dom.count("<svg") == 2 and dom.count("<table") >= 4
    assert "crossover: torch faster" in dom
