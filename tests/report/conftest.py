"""Fixtures: the fake run and its report, built once per session (figures take a second)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.report import build_report
from tests.report.fakerun import PAIRS, write_fake_run


@pytest.fixture(scope="session")
def fake_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_run(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="session")
def report(fake_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(fake_run, tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="session")
def html(report: Path) -> str:
    return report.read_text(encoding="utf-8")


#: Charts in the fake run's report: throughput, memory, and one curve figure per pair.
EXPECTED_FIGURES = 2 + len(PAIRS)
