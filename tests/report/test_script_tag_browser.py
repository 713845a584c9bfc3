"""A run tag carrying markup is shown as text in the report, and no script of it runs.

The control page proves the probe can fail: the same payload, unescaped, does run in Chromium.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.report import build_report
from tests.report.chromium import dump_dom, require_chromium
from tests.report.fakerun import write_fake_run

pytestmark = pytest.mark.browser

PAYLOAD = (
    "<script>document.title='PWNED';document.documentElement.setAttribute('data-pwned','1')"
    "</script><img src=x onerror=\"document.documentElement.setAttribute('data-pwned','2')\">"
)


def _title(dom: str) -> str:
    match = re.search(r"<title>(.*?)</title>", dom, re.S)
    return match.group(1) if match else ""


def test_control_page_shows_the_probe_detects_a_running_script(tmp_path: Path) -> None:
    browser = require_chromium()
    page = tmp_path / "control.html"
    page.write_text(
        f"<!doctype html><html><head><title>ok</title></head><body>{PAYLOAD}</body></html>"
    )
    dom = dump_dom(browser, page)
    assert _title(dom) == "PWNED"
    assert "data-pwned" in dom


def test_script_in_run_tag_is_text_and_never_runs(tmp_path: Path) -> None:
    browser = require_chromium()
    run = write_fake_run(tmp_path / "results", tag=PAYLOAD)
    page = build_report(run, tmp_path / "report")
    dom = dump_dom(browser, page)
    assert "PWNED" not in _title(dom)
    assert "data-pwned" not in dom.split("<body", 1)[0] + dom.split(">", 1)[0]
    assert 'data-pwned="1"' not in dom and 'data-pwned="2"' not in dom
    assert "<script" not in dom.lower()
    # shown as text: the serialized DOM keeps it escaped inside a text node
    assert "&lt;script&gt;document.title='PWNED'" in dom
