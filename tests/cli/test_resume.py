"""``bench run --resume`` measures the remaining cells as the run's first part did (issue 29).

Every ``bench run`` flag is either saved for resume (kept from env.json, refused when given
again) or does not change what is measured (taken as given); the audit test below fails for a
new flag that is in neither table. No test here trains anything: the runner is replaced by one
that records the options it was given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bench import cli
from bench.cli.args import UsageError
from bench.cli.parser import build_parser
from bench.cli.run import NOT_MEASURED, SAVED_FOR_RESUME, check_resume_conflicts
from bench.run.options import RunOptions
from bench.run.store import RunDir
from bench.zoo.specs import Cell, Recipe, Settings

CELL = Cell("torch", "mlp", "mnist1d", "quick", Recipe(steps=4, eval_every=2), 0)


class FakeRunner:
    """Stands in for :class:`bench.run.runner.Runner`: keeps the options, runs nothing."""

    seen: ClassVar[list[RunOptions]] = []

    def __init__(self, run_dir: RunDir, settings: Settings, options: RunOptions, *_: Any,
                 **__: Any) -> None:  # fmt: skip
        FakeRunner.seen.append(options)

    def run(self, cells: list[Cell]) -> list[dict[str, Any]]:
        return []


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> type[FakeRunner]:
    """The fake runner, and the planner fixed to one cell (so no framework need be installed)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("bench.run.runner.Runner", FakeRunner)
    monkeypatch.setattr("bench.cli.run.plan_cells", lambda request, say: [CELL])
    FakeRunner.seen = []
    return FakeRunner


QUIET = ["--no-report", "--no-history"]


def start(tmp_path: Path, *flags: str) -> Path:
    """A new run with ``flags``; its run directory."""
    argv = ["run", "--out", str(tmp_path / "results"), "--no-calibrate", *QUIET, *flags]
    assert cli.main(argv) == 0
    (run,) = (tmp_path / "results").iterdir()
    return run


def test_a_run_resumed_without_loop_steps_keeps_the_loop_steps_it_started_with(
    runner: type[FakeRunner], tmp_path: Path
) -> None:
    run = start(tmp_path, "--loop-steps", "7", "--reuse-workers")
    timing = json.loads((run / "env.json").read_text())["timing"]
    assert timing["loop_steps"] == 7 and timing["fresh_worker"] is False
    assert cli.main(["run", "--resume", str(run), *QUIET]) == 0
    started, resumed = runner.seen
    assert resumed.loop_steps == started.loop_steps == 7
    assert resumed.fresh_worker is started.fresh_worker is False
    assert (resumed.timing_passes, resumed.pass_seconds) == (
        started.timing_passes,
        started.pass_seconds,
    )


def test_a_run_without_loop_steps_resumes_without_them(
    runner: type[FakeRunner], tmp_path: Path
) -> None:
    run = start(tmp_path)
    assert cli.main(["run", "--resume", str(run), *QUIET]) == 0
    assert [(o.loop_steps, o.fresh_worker) for o in runner.seen] == [(0, True), (0, True)]


def test_a_run_saved_before_loop_steps_were_saved_resumes_from_its_command_line(
    runner: type[FakeRunner], tmp_path: Path
) -> None:
    env = {"run_id": "old", "plan": [CELL.to_dict()], "settings": Settings().to_dict(),
           "timing": {"passes": 2, "pass_seconds": 0.5},
           "argv": ["run", "--loop-steps", "5", "--reuse-workers"]}  # fmt: skip
    run = RunDir.create(tmp_path / "old", env).path
    assert cli.main(["run", "--resume", str(run), *QUIET]) == 0
    (options,) = runner.seen
    assert (options.loop_steps, options.fresh_worker, options.timing_passes) == (5, False, 2)


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--loop-steps", "3"], "--loop-steps"),
        (["--loop-steps", "0"], "--loop-steps"),
        (["--reuse-workers"], "--reuse-workers"),
    ],
)
def test_a_timing_flag_given_with_resume_is_refused_in_one_line(
    runner: type[FakeRunner],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    named: str,
) -> None:
    run = start(tmp_path, "--loop-steps", "7")
    env_before = (run / "env.json").read_text()
    capsys.readouterr()
    assert cli.main(["run", "--resume", str(run), *QUIET, *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bench: error: --resume") and "\n" not in err
    assert f"drop {named}" in err
    assert len(runner.seen) == 1  # nothing ran
    assert (run / "env.json").read_text() == env_before


def run_flags() -> dict[str, argparse.Action]:
    """``bench run``'s options by destination (``--help`` aside)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        a.dest: a
        for a in sub.choices["run"]._actions
        if a.option_strings and not isinstance(a, argparse._HelpAction)
    }


def test_every_run_flag_is_saved_for_resume_or_does_not_change_what_is_measured() -> None:
    flags = set(run_flags())
    saved, free = set(SAVED_FOR_RESUME), set(NOT_MEASURED)
    assert not saved & free, f"in both tables of bench/cli/run.py: {sorted(saved & free)}"
    assert not flags - saved - free, (
        f"bench run flags {sorted(flags - saved - free)} are in neither SAVED_FOR_RESUME nor "
        "NOT_MEASURED (bench/cli/run.py): say whether --resume must keep them"
    )
    assert not (saved | free) - flags, f"no such bench run flag: {sorted((saved | free) - flags)}"


@pytest.mark.parametrize("name", sorted(SAVED_FOR_RESUME))
def test_every_saved_flag_is_refused_with_resume_and_absent_by_default(name: str) -> None:
    action = run_flags()[name]
    assert action.default is None, f"--{name}: a default other than None reads as given"
    args = build_parser().parse_args(["run", "--resume", "somewhere"])
    check_resume_conflicts(args)  # nothing typed: nothing refused
    setattr(args, name, action.const if action.nargs == 0 else "typed")
    with pytest.raises(UsageError, match=f"drop --{name.replace('_', '-')}$"):
        check_resume_conflicts(args)
