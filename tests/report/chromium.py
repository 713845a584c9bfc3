"""Headless Chromium for tests of generated pages: a screenshot, and the DOM after parsing.

Shared by the report's browser test and any later page test (the history page). Each call gets
a fresh profile directory and every background service that could reach the network is off, so
a test neither depends on nor leaks into the machine's browser state.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

INSTALL = "apt-get update && apt-get install -y chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """The browser's path; without one, fail under CI (it must be installed there), else skip."""
    path = find_chromium()
    if path is None:
        message = f"headless Chromium not found; install it with: {INSTALL}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def _run(browser: str, page: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [browser, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def screenshot(
    browser: str, page: Path, png: Path, size: tuple[int, int] = (1400, 4000), timeout: float = 90
) -> Path:
    """Render ``page`` to ``png`` at ``size`` (width, height) pixels."""
    result = _run(
        browser, page, f"--screenshot={png}", f"--window-size={size[0]},{size[1]}", timeout=timeout
    )
    if not png.is_file():
        raise AssertionError(
            f"Chromium wrote no screenshot (exit {result.returncode}):\n{result.stderr[-2000:]}"
        )
    return png


def dump_dom(browser: str, page: Path, timeout: float = 90) -> str:
    """The DOM Chromium built from ``page``, serialized."""
    result = _run(browser, page, "--dump-dom", timeout=timeout)
    if result.returncode != 0 or "<html" not in result.stdout:
        raise AssertionError(
            f"Chromium --dump-dom failed (exit {result.returncode}):\n{result.stderr[-2000:]}"
        )
    return result.stdout
