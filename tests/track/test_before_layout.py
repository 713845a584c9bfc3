"""Results and a history written by the code before the package move (commit a0b64c9, two
quick-suite runs, ``fixtures/before_layout``) still load, report and compare: the move changed no
file format. The fixture is what that code wrote, unedited (the history database VACUUMed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench import cli
from bench.run.store import RunDir
from bench.track.history import History

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "before_layout"
RUN_A = FIXTURE / "20261205-092347-b305a5"
RUN_B = FIXTURE / "20261205-092717-11666e"
CELLS = {f"{fw}/{m}/mnist1d" for fw in ("torch", "tf", "keras") for m in ("mlp", "cnn")}


@pytest.fixture
def copies(tmp_path: Path) -> Path:
    """A writable copy: a report and a history page are written beside the inputs."""
    shutil.copytree(FIXTURE, tmp_path / "before", dirs_exist_ok=True)
    return tmp_path / "before"


def test_the_results_folders_load_with_every_cell() -> None:
    for run in (RUN_A, RUN_B):
        records = RunDir.open(run).latest_by_key()
        assert set(records) == CELLS
        assert all(r["status"] == "ok" for r in records.values())


def test_a_results_folder_written_before_the_move_reports(copies: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert cli.main(["report", str(copies / RUN_A.name), "--out", str(out)]) == 0
    html = (out / "index.html").read_text("utf-8")
    assert all(cell.split("/")[1] in html for cell in CELLS)


def test_two_folders_written_before_the_move_compare(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["compare", str(RUN_A), str(RUN_B), "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    cells = rows["cells"] if isinstance(rows, dict) else rows
    assert {row["key"] for row in cells} == CELLS
    # the second run started beside a busy process (recorded in its env.json) and its drift
    # reference ran 47 % faster than the first's: a disturbed machine, so no speed verdicts
    assert code == 3
    assert any("other processes used the CPU" in why for why in rows["machine_disturbed"])
    assert {row["verdict"] for row in cells} == {"machine disturbed"}


def test_the_history_written_before_the_move_compares_by_run_id_and_charts(
    copies: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = copies / "history.sqlite"
    assert {RUN_A.name, RUN_B.name} <= set(History(db).runs()["run_id"])
    code = cli.main(["compare", RUN_A.name, RUN_B.name, "--history", str(db), "--format", "json"])
    assert code == 3  # the env kept in the history says the same as env.json
    assert capsys.readouterr().out.strip()
    out = tmp_path / "page"
    args = ["history", "--report", "--history", str(db), "--out", str(out), "--all-machines"]
    assert cli.main(args) == 0
    assert "mlp" in (out / "index.html").read_text("utf-8")
