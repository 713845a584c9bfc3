"""``bench compare`` end to end on fake runs: verdicts, the family-wise adjustment, the exit code
and the markdown CI reads. The statistics themselves are tested in tests/measure/test_stats.py."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from bench import cli
from bench.measure import memory
from bench.run.record import speed
from bench.run.store import RunDir
from bench.track import compare, compare_text
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
        _scale_memory(r, changes.get("rss", 1.0))
    run_dir.results_path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _scale_memory(r: dict, factor: float) -> None:
    """Every memory figure of a record times ``factor``: the whole run's and each pass's."""
    m = r.get("memory")
    if not m or factor == 1.0:
        return
    entries = [p["memory"] for p in r.get("timing_passes") or [] if p.get("memory")]
    for e in [m, *entries]:
        e["peak_above_baseline_bytes"] = int(e["peak_above_baseline_bytes"] * factor)
    m["steps"] = memory.steps_summary(entries)


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
    _edit(current, "tf/mlp/mnist1d", rss=1.5)
    b, c = RunDir(base).records(), RunDir(current).records()
    out = {x.key: x for x in compare.compare_runs(b, c)}
    assert out["tf/mlp/mnist1d"].verdict == "hungrier"
    machine = compare.judge(b, c).machine
    raw = {x.key: x.p_value for x in (compare.compare_cell(bb, cc, 0.05, 0.10, machine)
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
    result = compare.judge(b, c)
    judged = result.cells
    assert [x.key for x in compare.regressed(judged)] == [SLOW]
    cell = next(x for x in judged if x.key == SLOW)
    # the two fake runs also differ by their own pass-to-pass noise (sd 4 %), hence the margins
    assert cell.machine_change == pytest.approx(1 / 1.25 - 1, abs=0.06)
    assert cell.throughput_change_raw == pytest.approx(1 / (1.25 * 1.4) - 1, abs=0.08)
    assert cell.throughput_change == pytest.approx(1 / 1.4 - 1, abs=0.08)
    assert f"{cell.machine_change:+.1%}" in compare_text.drift_line(result)


# -- software versus machine changes (issue 11 item 4) -------------------------------------------


def _edit_env(run: Path, **changes: object) -> None:
    path = run / "env.json"
    env = json.loads(path.read_text())
    for name, value in changes.items():
        if name == "packages":
            env["packages"] = {**env["packages"], **value}  # type: ignore[dict-item]
        else:
            env[name] = value
    path.write_text(json.dumps(env))


def test_a_framework_upgrade_is_compared_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    base, current = _runs(tmp_path)
    _edit_env(base, packages={"torch": "2.12.0"})
    _edit_env(current, packages={"torch": "2.13.0"})
    assert compare.machine_difference(RunDir(base).env(), RunDir(current).env()) is None
    assert cli.main(["compare", str(base), str(current)]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0] == "Software changed: torch 2.12.0 → 2.13.0."
    assert cli.main(["compare", str(base), str(current), "--format", "markdown"]) == 0
    assert "**Software changed: torch 2.12.0 → 2.13.0.**" in capsys.readouterr().out
    assert cli.main(["compare", str(base), str(current), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["software_changes"] == ["torch 2.12.0 → 2.13.0"]


def test_a_different_cpu_model_is_still_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    base, current = _runs(tmp_path)
    _edit_env(current, cpu_model="Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz",
              packages={"keras": "3.8.0"})  # fmt: skip
    assert cli.main(["compare", str(base), str(current)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cpu model differ" in err
    assert "keras" not in err  # the software change is not why it was refused
    assert cli.main(["compare", str(base), str(current), "--allow-machine-change"]) == 0


def test_memory_or_a_gpu_is_a_machine_change_too(tmp_path: Path) -> None:
    env = RunDir(_runs(tmp_path)[0]).env()
    assert compare.machine_difference(env, {**env, "memory_bytes": env["memory_bytes"] // 2}) == (
        "memory"
    )
    assert compare.machine_difference(env, {**env, "gpus": ["NVIDIA H100 80GB HBM3"]}) == "gpus"
    # a few MiB less after a reboot is the same machine
    assert (
        compare.machine_difference(env, {**env, "memory_bytes": env["memory_bytes"] - 2**23})
        is None
    )


# -- the drift reference (issue 11 item 5) ---------------------------------------------------


def _reference(run: Path, seconds: list[float], workload: str = "numpy-matmul+copy") -> None:
    """Give every record of a run the run's drift reference, as the runner writes it."""
    run_dir = RunDir(run)
    records = run_dir.records()
    for r in records:
        r["drift_reference"] = {"workload": workload, "seconds": seconds}
    run_dir.results_path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _all_slower(run: Path, factor: float) -> None:
    for r in RunDir(run).records():
        _edit(run, r["key"], time=factor)


def test_every_cell_slower_and_the_reference_not_is_a_disturbed_machine_and_fails_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A slowdown shared by every cell (the harness, NumPy, a common backend, or the machine in a
    way the reference does not feel: unchanged code on the 2-core VM saw every cell move 6-34 %
    while the reference moved 8.6 %): the median of the cells alone would call it drift and
    flag nothing; with a reference that did not move, the two are 25 % apart, beyond the
    disturbance threshold, so speed is not judged: "machine disturbed", exit 3, and --strict
    fails, so the slowdown cannot pass the gate silently."""
    base, current = _runs(tmp_path)
    _all_slower(current, 1.25)
    b, c = RunDir(base).records(), RunDir(current).records()
    assert not compare.regressed(compare.compare_runs(b, c))  # the cells' median hides it
    _reference(base, [0.201, 0.199, 0.200])
    _reference(current, [0.200, 0.202, 0.199])
    result = compare.judge(RunDir(base).records(), RunDir(current).records())
    assert result.disturbed and not result.regressed
    assert any("cells' median and the drift reference moved" in why
               for why in result.machine.disturbed)  # fmt: skip
    timed = [x for x in result.cells if x.throughput_change_raw is not None]
    assert timed and all(x.verdict == "machine disturbed" for x in timed)
    assert all(x.throughput_change_raw == pytest.approx(1 / 1.25 - 1, abs=0.06) for x in timed)
    assert result.exit_status() == compare.EXIT_DISTURBED
    assert result.exit_status(strict=True) == compare.EXIT_REGRESSION
    assert cli.main(["compare", str(base), str(current), "--format", "markdown"]) == 3
    assert "the drift reference moved" in capsys.readouterr().out


def test_a_machine_slowdown_seen_by_the_reference_is_taken_off(tmp_path: Path) -> None:
    """Reference and cells agree, within their intervals, that the machine ran 10 % slower: it
    is taken off, one cell 40 % slower on top is the one regression. (The fake runs' cells carry
    run-level noise of a few percent, so a reference repeating itself within 0.5 % would not
    agree with their median: the reference here spreads 4 %, as a real one does.)"""
    base, current = _runs(tmp_path)
    _all_slower(current, 1.10)
    _edit(current, SLOW, time=1.4)
    _reference(base, [0.200, 0.208, 0.192])
    _reference(current, [0.220, 0.229, 0.211])
    result = compare.judge(RunDir(base).records(), RunDir(current).records())
    assert [x.key for x in result.regressed] == [SLOW]
    assert result.machine.agree is True and not result.disturbed
    cell = next(x for x in result.cells if x.key == SLOW)
    assert cell.drift_source == "reference"
    assert cell.machine_change == pytest.approx(1 / 1.10 - 1, abs=0.005)
    assert "from the drift reference" in compare_text.drift_line(result)


def test_the_references_own_noise_widens_every_cells_interval(tmp_path: Path) -> None:
    """The same correction from a reference that repeats itself within 0.5 % and from one that
    spreads 8 % (under the disturbance threshold), both centred on the cells' own median move so
    the two estimates agree and the reference is used: the noisy one gives wider intervals and
    larger p-values, not the same verdict with false confidence."""
    widths, ps = [], []
    for spread in (0.005, 0.08):
        base, current = _runs(tmp_path / f"s{spread}")
        b, c = RunDir(base).records(), RunDir(current).records()
        move = math.exp(float(np.median(compare.cell_log_changes(b, c))))
        _reference(base, [0.2, 0.2 * (1 + spread), 0.2 * (1 - spread / 2)])
        _reference(current, [0.2 * move * f for f in (1 - spread / 2, 1.0, 1 + spread)])
        result = compare.judge(RunDir(base).records(), RunDir(current).records())
        assert result.machine.source == "reference" and result.machine.agree
        cell = next(x for x in result.cells if x.key == "torch/mlp/mnist1d")
        widths.append(cell.throughput_ci[1] - cell.throughput_ci[0])
        ps.append(cell.p_value)
    assert widths[1] > 1.3 * widths[0]
    assert ps[1] >= ps[0]


def test_a_reference_that_moved_beyond_the_threshold_withholds_speed_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The reference 25 % slower: contention, which slows the frameworks unlike the reference.
    No cell is called faster, slower or unchanged on speed; the exit status is 3 (1 with
    --strict), and a memory regression still counts."""
    base, current = _runs(tmp_path)
    _all_slower(current, 1.25)
    _edit(current, "torch/mlp/mnist1d", time=0.7)  # would read "faster" against the reference
    _reference(base, [0.200, 0.201, 0.199])
    _reference(current, [0.250, 0.251, 0.249])
    result = compare.judge(RunDir(base).records(), RunDir(current).records())
    assert result.disturbed and "moved +25.0%" in result.machine.disturbed[0]
    timed = [x for x in result.cells if x.throughput_change_raw is not None]
    assert timed and {x.verdict for x in timed} == {"machine disturbed"}
    assert all(x.speed_verdict is None and x.throughput_ci is None for x in timed)
    assert result.exit_status() == 3 and result.exit_status(strict=True) == 1
    assert cli.main(["compare", str(base), str(current), "--format", "markdown"]) == 3
    text = capsys.readouterr().out
    assert "**Machine disturbed**" in text and "faster" not in text.split("| cell |")[1]
    _edit(current, "tf/mlp/mnist1d", rss=1.5)
    result = compare.judge(RunDir(base).records(), RunDir(current).records())
    assert [x.key for x in result.regressed] == ["tf/mlp/mnist1d"]
    assert result.exit_status() == 1


def test_a_run_started_beside_a_busy_process_is_disturbed(tmp_path: Path) -> None:
    base, current = _runs(tmp_path)
    _edit_env(current, busy_processes=[{"pid": 1, "name": "yes", "cpu_percent": 99}])
    code = cli.main(["compare", str(base), str(current), "--format", "json"])
    assert code == 3
    assert cli.main(["compare", str(base), str(current), "--strict"]) == 1


def test_a_reference_that_spread_within_a_run_is_disturbance(tmp_path: Path) -> None:
    base, current = _runs(tmp_path)
    _reference(base, [0.200, 0.201, 0.199])
    _reference(current, [0.180, 0.215, 0.230])  # two passes 19 % and 28 % above the fastest
    result = compare.judge(RunDir(base).records(), RunDir(current).records())
    assert result.disturbed and "spread 19%" in result.machine.disturbed[0]
    _reference(current, [0.200, 0.201, 0.300])  # one pass out of line: not a disturbed run
    result = compare.judge(RunDir(base).records(), RunDir(current).records())
    assert not any("spread" in why for why in result.machine.disturbed)


def test_without_a_reference_in_one_run_the_cells_median_stands_in(tmp_path: Path) -> None:
    base, current = _runs(tmp_path)
    _reference(base, [0.2, 0.2, 0.2])
    result = compare.judge(RunDir(base).records(), RunDir(current).records())
    cell = next(x for x in result.cells if x.machine_change is not None)
    assert cell.drift_source == "cells"
    assert cell.machine_change == pytest.approx(cell.cells_machine_change)
    assert "one run has no drift reference" in compare_text.drift_line(result)
    _reference(current, [0.2, 0.2, 0.2], workload="another workload")
    judged = compare.compare_runs(RunDir(base).records(), RunDir(current).records())
    assert next(x for x in judged if x.machine_change is not None).drift_source == "cells"


def test_fewer_cells_than_the_median_needs_is_said(tmp_path: Path) -> None:
    base, current = _runs(tmp_path)
    keep = {"torch/mlp/mnist1d", "tf/mlp/mnist1d", "keras/mlp/mnist1d"}
    for run in (base, current):
        run_dir = RunDir(run)
        records = [r for r in run_dir.records() if r["key"] in keep]
        run_dir.results_path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = compare.judge(RunDir(base).records(), RunDir(current).records())
    assert result.machine.cells is None and result.machine.source is None
    assert "too few cells (under 6)" in compare_text.drift_line(result)


# -- compare as a gate: what could not be compared ------------------------------------------


def test_a_missing_cell_is_listed_and_fails_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    base, current = _runs(tmp_path)
    run_dir = RunDir(current)
    records = [r for r in run_dir.records() if r["key"] != SLOW]
    run_dir.results_path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert cli.main(["compare", str(base), str(current), "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    gate = text.split("| cell |")[0]  # said above the table
    assert (
        f"**1 cell(s) not compared** (`--strict` fails on these): `{SLOW}` (not in the "
        "current run)" in gate
    )
    assert cli.main(["compare", str(base), str(current), "--strict"]) == 1
    capsys.readouterr()
    assert cli.main(["compare", str(base), str(current), "--strict", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["not_comparable"] == {SLOW: "not in the current run"}


def test_a_failed_base_cell_and_another_recipe_are_not_comparable(tmp_path: Path) -> None:
    base, current = _runs(tmp_path)
    run_dir = RunDir(base)
    records = run_dir.records()
    for r in records:
        if r["key"] == SLOW:
            r["status"], r["error"] = "failed", "worker died"
        if r["key"] == "tf/mlp/mnist1d":
            r["recipe"] = {**r["recipe"], "lr": 0.5}
    run_dir.results_path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = compare.judge(RunDir(base).records(), RunDir(current).records())
    notes = {x.key: x.note for x in result.not_comparable}
    assert notes[SLOW].startswith("failed in the base run") and notes["tf/mlp/mnist1d"] == (
        "another recipe"
    )
    assert result.exit_status() == 0 and result.exit_status(strict=True) == 1
    assert "2 cell(s) not compared" in compare_text.gate_lines(result)[1]


def test_hungrier_is_judged_on_the_peak_above_the_baseline(tmp_path: Path) -> None:
    """Both records carry the fresh-worker figure: a worker that happened to peak higher (the
    allocator's history) is not a regression; a rise above the baseline is."""
    base, current = _runs(tmp_path)
    for run, above in ((base, 40 * 2**20), (current, 41 * 2**20)):
        run_dir = RunDir(run)
        records = run_dir.records()
        for r in records:
            r["memory"] = {"baseline_bytes": 300 * 2**20, "peak_above_baseline_bytes": above,
                           "fresh_worker": True, "device_peak_bytes": None}  # fmt: skip
            if run == current and r["key"] == "tf/mlp/mnist1d":
                r["peak_rss_bytes"] *= 2  # the whole worker's peak: not the cell's figure
            if run == current and r["key"] == "torch/mlp/mnist1d":
                r["memory"]["peak_above_baseline_bytes"] = 60 * 2**20
        run_dir.results_path.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = {x.key: x for x in compare.compare_runs(RunDir(base).records(),
                                                  RunDir(current).records())}  # fmt: skip
    assert out["tf/mlp/mnist1d"].verdict != "hungrier"
    assert out["torch/mlp/mnist1d"].verdict == "hungrier"
    assert out["torch/mlp/mnist1d"].memory_change == pytest.approx(0.5)
