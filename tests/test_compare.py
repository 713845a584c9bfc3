"""``bench compare`` end to end on fake runs: verdicts, the family-wise adjustment, the exit code
and the markdown CI reads. The statistics themselves are tested in test_stats.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench import cli, compare
from bench.record import speed
from bench.store import RunDir
from tests.report.fakerun import write_fake_run

SLOW = "torch/cnn/mnist1d"


def _runs(tmp_path: Path) -> tuple[Path, Path]:
    """Two runs of the same code: same cells and speeds, independent noise."""
    base = write_fake_run(tmp_path, run_id="20260101-120000-aaaaaa", seed=1, failed={})
    current = write_fake_run(tmp_path, run_id="20260101-130000-bbbbbb", seed=2, failed={})
    return base, current


def _edit(run: Path, key: str, **changes: float) -> None:
    """Scale one cell's timing-pass step times and/or its peak RSS, in place."""
    run_dir = RunDir(run)
    records = run_dir.records()
    for r in records:
        if r["key"] != key:
            continue
        scale = changes.get("time", 1.0)
        for p in r.get("timing_passes") or []:
            p["step_times_s"] = [t * scale for t in p["step_times_s"]]
        if not r.get("timing_passes"):  # digits cells: the training steps are the timing
            r["step_times_s"] = [t * scale for t in r["step_times_s"]]
        r["throughput"], r["step_latency_ms"] = speed(r, r["recipe"]["batch_size"])
        r["peak_rss_bytes"] = int(r["peak_rss_bytes"] * changes.get("rss", 1.0))
    run_dir.results_path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_same_code_has_no_regression(tmp_path: Path) -> None:
    base, current = _runs(tmp_path)
    out = compare.compare_runs(RunDir(base).records(), RunDir(current).records())
    assert out and not compare.regressed(out)
    passes = [c for c in out if c.speed_method and c.speed_method.startswith("Welch")]
    steps = [c for c in out if c.speed_method and "Mann-Whitney" in c.speed_method]
    assert passes and steps  # mnist1d cells have timing passes, digits cells do not


def test_a_slowdown_is_caught_and_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base, current = _runs(tmp_path)
    _edit(current, SLOW, time=1.4)
    out = {c.key: c for c in compare.compare_runs(RunDir(base).records(),
                                                  RunDir(current).records())}  # fmt: skip
    assert out[SLOW].verdict == "slower"
    assert out[SLOW].throughput_change == pytest.approx(1 / 1.4 - 1, abs=0.05)
    lo, hi = out[SLOW].throughput_ci
    assert lo < out[SLOW].throughput_change < hi < 0
    assert [c.key for c in compare.regressed(list(out.values()))] == [SLOW]
    code = cli.main(["compare", str(base), str(current), "--format", "markdown"])
    text = capsys.readouterr().out
    assert code == 1
    assert f"**1 regression(s)**: `{SLOW}` (slower)" in text
    assert "Holm" in text and "Welch t over the timing passes" in text


def test_memory_and_holm_adjusted_p_values(tmp_path: Path) -> None:
    base, current = _runs(tmp_path)
    _edit(current, "tf/mlp/mnist1d", rss=1.25)
    b, c = RunDir(base).records(), RunDir(current).records()
    out = {x.key: x for x in compare.compare_runs(b, c)}
    assert out["tf/mlp/mnist1d"].verdict == "hungrier"
    shift = compare.drift(b, c)
    raw = {x.key: x.p_value for x in (compare.compare_cell(bb, cc, 0.05, 0.10, shift)
                                      for bb, cc in zip(b, c, strict=True))}  # fmt: skip
    adjusted = [out[k].p_value for k in raw if raw[k] is not None]
    assert all(a >= r for a, r in zip(adjusted, [v for v in raw.values() if v is not None],
                                      strict=True))  # fmt: skip
    assert max(adjusted) <= 1.0
    smallest = min(v for v in raw.values() if v is not None)
    assert np.isclose(min(adjusted), min(1.0, smallest * len(adjusted)))


def test_json_lists_the_regressed_cells(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base, current = _runs(tmp_path)
    _edit(current, SLOW, time=1.4)
    assert cli.main(["compare", str(base), str(current), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["regressed"] == [SLOW]
    cell = next(x for x in data["cells"] if x["key"] == SLOW)
    assert cell["speed_verdict"] == "slower" and cell["speed_method"].startswith("Welch")
    assert cli.main(["compare", str(base), str(base), "--format", "json"]) == 0


def test_machine_drift_is_taken_off_and_a_real_slowdown_still_shows(tmp_path: Path) -> None:
    """The whole machine 25 % slower in the current run (every cell), one cell 40 % slower on
    top: judged raw, other cells regress too; judged against the drift, only that cell."""
    base, current = _runs(tmp_path)
    for r in RunDir(current).records():
        _edit(current, r["key"], time=1.25)
    _edit(current, SLOW, time=1.4)
    b, c = RunDir(base).records(), RunDir(current).records()
    raw = compare.regressed(compare.compare_runs(b, c, drift_correction=False))
    assert len(raw) > 1 and SLOW in [x.key for x in raw]
    judged = compare.compare_runs(b, c)
    assert [x.key for x in compare.regressed(judged)] == [SLOW]
    cell = next(x for x in judged if x.key == SLOW)
    # the two fake runs also differ by their own pass-to-pass noise (sd 4 %), hence the margins
    assert cell.machine_change == pytest.approx(1 / 1.25 - 1, abs=0.06)
    assert cell.throughput_change_raw == pytest.approx(1 / (1.25 * 1.4) - 1, abs=0.08)
    assert cell.throughput_change == pytest.approx(1 / 1.4 - 1, abs=0.08)
    assert f"{cell.machine_change:+.1%}" in compare.drift_line(judged)
