"""The report as a browser shows it: a non-blank screenshot, filled tables, every figure drawn.

String checks on the HTML cannot tell whether Chromium actually parses the inline SVG or lays
out the tables; this test asks Chromium itself.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from tests.report.chromium import dump_dom, require_chromium, screenshot
from tests.report.conftest import EXPECTED_FIGURES

pytestmark = pytest.mark.browser


class _Elements(HTMLParser):
    """Counts table rows per table and collects every <svg>'s attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[int] = []
        self.svgs: list[dict[str, str | None]] = []
        self._open_tables: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append(0)
            self._open_tables.append(len(self.tables) - 1)
        elif tag == "tr" and self._open_tables:
            self.tables[self._open_tables[-1]] += 1
        elif tag == "svg":
            self.svgs.append(dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._open_tables:
            self._open_tables.pop()


def test_page_renders_in_chromium(report: Path, tmp_path: Path) -> None:
    browser = require_chromium()

    png = screenshot(browser, report, tmp_path / "shot.png")
    pixels = imread(png)[..., :3]
    assert pixels.shape[0] > 1000 and pixels.shape[1] > 1000
    assert float(np.var(pixels)) > 0, "the screenshot is one flat colour"
    assert np.count_nonzero(pixels.min(axis=-1) < 0.9) > 10_000, "the screenshot is blank"
    print(f"screenshot: {png}")  # pytest keeps the last few tmp dirs: look at it with -s

    dom = _Elements()
    dom.feed(dump_dom(browser, report))
    assert len(dom.tables) >= 5, "summary, ratios, recipe, manifests and environment tables"
    assert all(rows > 1 for rows in dom.tables), f"a table without body rows: {dom.tables}"
    assert len(dom.svgs) == EXPECTED_FIGURES
    for svg in dom.svgs:
        box = [float(v) for v in re.split(r"[\s,]+", (svg.get("viewbox") or "").strip()) if v]
        assert len(box) == 4 and box[2] > 0 and box[3] > 0, svg
        width = re.match(r"[\d.]+", svg.get("width") or "")
        assert width and float(width.group(0)) > 0, svg
