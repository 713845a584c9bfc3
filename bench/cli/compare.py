"""``bench compare A B``: per-cell change with its significance; exit 1 on a regression, for CI."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from bench.cli.args import UsageError
from bench.run.store import RunDir
from bench.track.history import DEFAULT_PATH as DEFAULT_HISTORY
from bench.track.history import History


def load_run(ref: str, history_path: Path | None) -> tuple[str, list[dict], dict]:
    """Records and env of a run named by a directory, or by id/branch/commit in the history."""
    path = Path(ref)
    if path.exists() or "/" in ref or (history_path is None and not DEFAULT_HISTORY.exists()):
        run_dir = RunDir.open(path)
        records = list(run_dir.latest_by_key().values())
        if not records:
            raise UsageError(f"{ref}: the run has no results")
        return str(path), records, run_dir.env()
    history = history_path or DEFAULT_HISTORY
    if not history.is_file():
        raise UsageError(f"{ref}: no such run directory, and no history database at {history}")
    db = History(history)
    run_id = db.resolve(ref)
    records = db.records(run_id)
    if not records:
        raise UsageError(f"{ref}: run {run_id} has no results in {history}")
    return f"{ref} ({run_id})" if ref != run_id else run_id, records, db.run_env(run_id)


def cmd_compare(args: argparse.Namespace, console: Console) -> int:
    """Print the comparison; the exit status is the gate (see :meth:`Comparison.exit_status`)."""
    from rich.table import Table

    from bench.track import compare, compare_text

    base_name, base, base_env = load_run(args.base, args.history)
    cur_name, current, cur_env = load_run(args.current, args.history)
    why = compare.machine_difference(base_env, cur_env)
    if why and not args.allow_machine_change:
        raise UsageError(f"the two runs come from different machines ({why} differ); timings are "
                         "not comparable across machines: pass --allow-machine-change to compare "
                         "anyway")  # fmt: skip
    result = compare.judge(
        base, current, args.threshold, args.memory_threshold,
        drift_correction=not args.no_drift_correction,
        disturbance_threshold=args.disturbance_threshold, base_env=base_env, current_env=cur_env,
    )  # fmt: skip
    software = compare.software_changes(base_env, cur_env)
    if args.format == "markdown":
        print(compare_text.to_markdown(result, base_name, cur_name, software), end="")
    elif args.format == "json":
        print(compare_text.to_json(result, base_name, cur_name, software))
    else:
        if software:
            console.print(compare.software_line(software), markup=False)
        if why:
            console.print(f"note: different machines ({why})", markup=False)
        for line in compare_text.gate_lines(result):  # what could not be judged, first
            console.print(line.replace("**", "").replace("`", ""), markup=False)
        console.print(compare_text.drift_line(result).replace("`", ""), markup=False)
        table = Table(title=f"{base_name} → {cur_name}")
        for col in compare_text.HEADER:
            table.add_column(col)
        for row in compare_text.rows(result.cells):
            table.add_row(*row)
        console.print(table)
    return result.exit_status(strict=args.strict)
