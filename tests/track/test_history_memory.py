"""The history's memory figure: the gated one (training steps, one fresh worker per timing pass)
stored with its interval, migrated into older databases, charted with error bars, older runs'
whole-run peaks drawn hollow, and the throughput and memory axes wide enough that a few percent
of noise looks like noise."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bench.measure import memory
from bench.track.history import MEMORY_COLUMNS, History
from bench.track.page import build_history_page
from bench.track.page_charts import MIN_SPAN, cell_chart, memory_series
from bench.track.page_data import MIB, RunInfo, make_axis
from tests.track.test_history_page import FINGERPRINT, add_run, make_record

KEY = "torch/mlp/mnist1d"
#: Runs 0-1 are older (a whole-run peak, no timing passes' samples); runs 2-5 have the figure.
N_RUNS, OLDER = 6, 2


def with_memory(record: dict[str, Any], rng: np.random.Generator, passes: int) -> dict[str, Any]:
    """``record`` with a whole-run figure and, from ``passes`` fresh workers, the gated one."""
    base = 300 * MIB
    whole = memory.cell_memory(base, base + int(60 * MIB), fresh_worker=True)
    samples = [memory.cell_memory(base, base + int(40 * MIB * rng.lognormal(0, 0.02)), True)
               for _ in range(passes)]  # fmt: skip
    return {**record, "memory": {**whole, "steps": memory.steps_summary(samples)}}


def memory_history(path: Path) -> History:
    history, rng = History(path), np.random.default_rng(5)
    for i in range(N_RUNS):
        run_id = add_run(history, i, i, "quick", 1)
        record = make_record(run_id, "torch", "mlp", 0.001, rng)
        history.add_record(with_memory(record, rng, passes=0 if i < OLDER else 3))
    return history


def test_the_history_stores_the_gated_figure_and_its_interval(tmp_path: Path) -> None:
    history = memory_history(tmp_path / "h.sqlite")
    cells = history.cells().sort_values("created")
    older, newer = cells.iloc[:OLDER], cells.iloc[OLDER:]
    assert (older["memory_label"] == "whole run").all()
    assert older["memory_bytes"].eq(60 * MIB).all() and older["memory_ci_low_bytes"].isna().all()
    assert (newer["memory_label"] == "training steps").all() and (newer["memory_n"] == 3).all()
    for run_id, row in newer.set_index("run_id").iterrows():
        steps = history.records(str(run_id))[0]["memory"]["steps"]
        assert row["memory_bytes"] == pytest.approx(steps["mean_bytes"])
        assert row["memory_ci_low_bytes"] == pytest.approx(steps["ci_low_bytes"])
        assert row["memory_ci_high_bytes"] == pytest.approx(steps["ci_high_bytes"])


def test_a_database_without_the_memory_columns_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    fresh = memory_history(path).cells()
    with sqlite3.connect(path) as conn:  # back to the version 1 layout, rows as then
        for name in MEMORY_COLUMNS:
            conn.execute(f"ALTER TABLE cells DROP COLUMN {name}")
        conn.execute("PRAGMA user_version = 1")
    migrated = History(path).cells()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    columns = ["run_id", *MEMORY_COLUMNS]
    want = fresh[columns].sort_values("run_id").reset_index(drop=True)
    got = migrated[columns].sort_values("run_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)


def chart_rows(history: History) -> tuple[pd.DataFrame, Any]:
    cells = history.cells()
    runs = [RunInfo(i, r, r[-6:], "2026-02-01", "", "", "", "", "", r)
            for i, r in enumerate(cells["run_id"])]  # fmt: skip
    axis = make_axis(runs)
    return cells.assign(x=cells["run_id"].map(axis.x)), axis


def test_the_memory_panel_plots_the_gated_figure_with_intervals(tmp_path: Path) -> None:
    rows, axis = chart_rows(memory_history(tmp_path / "h.sqlite"))
    fig = cell_chart(rows, axis, "#e4572e", [], KEY)
    panel = fig.axes[1]
    assert "training steps" in panel.get_title()
    bars = [c for c in panel.collections if c.get_gid() == "memory-ci"]
    assert len(bars) == 1
    segments = sorted(bars[0].get_segments(), key=lambda s: s[0, 0])
    newer = rows.sort_values("x").iloc[OLDER:]
    assert len(segments) == len(newer)
    for segment, (_, row) in zip(segments, newer.iterrows(), strict=True):
        assert sorted(segment[:, 1]) == pytest.approx(
            [row["memory_ci_low_bytes"] / MIB, row["memory_ci_high_bytes"] / MIB]
        )
    (hollow,) = [line for line in panel.lines if line.get_gid() == "memory-fallback"]
    assert list(hollow.get_ydata()) == pytest.approx([60.0] * OLDER)  # the whole-run peaks
    assert hollow.get_markerfacecolor() == "none"
    mem, low, high, fallback = memory_series(rows.sort_values("x"))
    assert fallback.tolist() == [True] * OLDER + [False] * (N_RUNS - OLDER)
    assert np.isnan(low[:OLDER]).all() and (low[OLDER:] < mem[OLDER:]).all()
    assert (mem[OLDER:] < high[OLDER:]).all()


def test_a_row_stored_before_the_figure_falls_back_to_peak_rss(tmp_path: Path) -> None:
    rows, _ = chart_rows(memory_history(tmp_path / "h.sqlite"))
    rows = rows.assign(memory_bytes=np.nan, memory_label=None)
    mem, _, _, fallback = memory_series(rows)
    assert fallback.all()
    assert mem == pytest.approx(rows["peak_rss_bytes"].to_numpy(float) / MIB)


def test_a_few_percent_of_noise_does_not_fill_the_panel(tmp_path: Path) -> None:
    rows, axis = chart_rows(memory_history(tmp_path / "h.sqlite"))
    wobble = 1 + 0.04 * np.array([1, -1, 1, -1, 1, -1])  # ±4 % around a steady level
    rows = rows.sort_values("x").assign(
        throughput=1000.0 * wobble,
        throughput_ci_low=1000.0 * wobble * 0.995,
        throughput_ci_high=1000.0 * wobble * 1.005,
        memory_bytes=40 * MIB * wobble,
        memory_ci_low_bytes=40 * MIB * wobble * 0.99,
        memory_ci_high_bytes=40 * MIB * wobble * 1.01,
        memory_label="training steps",
    )
    fig = cell_chart(rows, axis, "#e4572e", [], KEY)
    for panel, median in ((fig.axes[0], 1000.0), (fig.axes[1], 40.0)):
        low, high = panel.get_ylim()
        assert low <= median * (1 - MIN_SPAN) and high >= median * (1 + MIN_SPAN), (low, high)
        assert (high - low) / median >= 2 * MIN_SPAN


def test_the_page_draws_the_memory_intervals(tmp_path: Path) -> None:
    page = build_history_page(memory_history(tmp_path / "h.sqlite"), tmp_path / "page",
                              FINGERPRINT).read_text("utf-8")  # fmt: skip
    assert 'id="h-cell-1-memory-ci"' in page and 'id="h-cell-1-memory-fallback"' in page
