"""``bench report RUN_DIR``: the HTML report of a results folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from bench.cli.args import UsageError
from bench.run.store import RunDir


def write_report(run_dir: RunDir, out: Path) -> Path:
    """The run's report; a sweep's (``env.json`` has ``sweep``) is the sweeps page."""
    if run_dir.env().get("sweep"):
        from bench.report.sweeps import write_sweep_report

        return write_sweep_report(run_dir, out)
    from bench.report import build_report

    return build_report(run_dir.path, out)


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    run_dir = RunDir.open(args.run_dir)
    records = run_dir.records()
    if not records:
        raise UsageError(f"{args.run_dir}: the run has no results yet; nothing to report")
    out = args.out or Path("reports") / run_dir.run_id
    path = write_report(run_dir, out)
    console.print(f"report: {path}", markup=False)
    return 0
