"""A sweep's points in the history and in ``bench compare``: each point its own series, and a
comparison of two sweeps matches a point only with the same point, never another batch or
thread count (no framework: a fake sweep on disk)."""

from __future__ import annotations

from pathlib import Path

from bench.run.store import RunDir
from bench.track.compare import compare_runs
from bench.track.history import History
from tests.report.fakesweep import BATCHES, COSTS, write_fake_sweep


def _records(root: Path) -> tuple[dict, list[dict]]:
    run = RunDir.open(write_fake_sweep(root))
    return run.env(), list(run.latest_by_key().values())


def test_every_point_is_its_own_history_series(tmp_path: Path) -> None:
    env, records = _records(tmp_path / "a")
    history = History(tmp_path / "history.sqlite")
    history.add_run(env)
    for r in records:
        history.add_record(r)
    cells = history.cells()
    assert len(cells) == len(records) == len(COSTS) * len(BATCHES)
    assert cells["series"].nunique() == len(records)


def test_compare_matches_each_point_with_itself_only(tmp_path: Path) -> None:
    _, base = _records(tmp_path / "a")
    _, current = _records(tmp_path / "b")
    current = [r for r in current if r["sweep"]["batch_size"] != 64]  # a point left out
    cells = compare_runs(base, current)
    assert {c.key for c in cells} == {r["key"] for r in base}
    missing = [c for c in cells if "#batch64," in c.key]
    assert missing and all(c.note == "not in the current run" for c in missing)
    matched = [c for c in cells if "#batch64," not in c.key]
    assert all(c.note != "not in the current run" for c in matched)
