"""``bench run``: plan the cells (:mod:`bench.run.plan`), set up or resume the run directory, run,
print the table and write the report.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.cli.args import UsageError, check_out_dir
from bench.cli.calibrate import run_calibration
from bench.cli.report import write_report
from bench.measure import environment
from bench.run.plan import (
    PlanRequest,
    check_data_dir,
    check_distributed,
    parse_cpus,
    plan_cells,
    resolve_device,
)
from bench.run.store import RunDir, new_run_id
from bench.track.history import History
from bench.zoo.specs import Cell, Settings

#: ``bench run`` flags whose value ``--resume`` must keep, and where env.json keeps it. Each one
#: decides what the run measures (its plan, settings, timing, worker reuse, data-parallel layout)
#: or which run it is (tag, results root, history), so a resumed run reads them back instead of
#: taking them again: given with ``--resume``, each is refused (exit 2), so one run never mixes
#: two configurations. ``tests/cli/test_resume.py`` fails for a flag in neither table.
SAVED_FOR_RESUME: dict[str, str] = {
    "frameworks": "plan", "models": "plan", "dataset": "plan", "suite": "plan",
    "steps": "plan", "batch_size": "plan", "eval_every": "plan", "seed": "plan",
    "precision": "plan", "threads": "settings", "device": "settings",
    "memory_format": "settings", "cpus": "settings", "data_dir": "data_dir",
    "timing_passes": "timing", "pass_seconds": "timing", "loop_steps": "timing",
    "reuse_workers": "timing", "workers": "distributed", "scaling": "distributed",
    "tag": "tag", "out": "the run directory's parent",
    "history": "none: a resumed run records into history.sqlite beside the run directory",
}  # fmt: skip

#: ``bench run`` flags that do not change what a cell measures, so ``--resume`` takes them as
#: given, with the reason for each.
NOT_MEASURED: dict[str, str] = {
    "resume": "names the run to finish",
    "report_dir": "where the HTML report goes",
    "no_report": "whether the HTML report is written",
    "no_history": "whether records also go to the history database",
    "no_calibrate": "a resumed run reuses the calibration in env.json and measures none",
    "cell_timeout": "a time limit, not a measurement: a cell that ran out may be given more",
}


def check_resume_conflicts(args: argparse.Namespace) -> None:
    """Refuse every flag of :data:`SAVED_FOR_RESUME` given with ``--resume`` (their defaults
    are None, so given means typed)."""
    given = [f"--{name.replace('_', '-')}" for name in SAVED_FOR_RESUME
             if getattr(args, name, None) is not None]  # fmt: skip
    if given:
        raise UsageError(f"--resume continues a run exactly as it was planned; drop "
                         f"{', '.join(given)}")  # fmt: skip


def resume_timing(env: dict[str, Any]) -> dict[str, Any]:
    """A run's timing settings from its env.json. A run started before ``loop_steps`` and
    ``fresh_worker`` were saved there has them only in its saved command line, so they are
    read from that (a resume must not drop the loop scope or the worker reuse it started
    with); a command line that does not parse gives the defaults."""
    timing = dict(env.get("timing") or {})
    if "loop_steps" in timing and "fresh_worker" in timing:
        return timing
    argv = [str(a) for a in env.get("argv") or []]
    loop_steps, reuse = 0, False
    if argv[:1] == ["run"]:
        from bench.cli.parser import build_parser

        try:
            old = build_parser().parse_args(argv)
            loop_steps, reuse = old.loop_steps or 0, bool(old.reuse_workers)
        except (UsageError, SystemExit):
            pass
    timing.setdefault("loop_steps", loop_steps)
    timing.setdefault("fresh_worker", not reuse)
    return timing


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from bench.run.options import RunOptions, timing_defaults
    from bench.run.progress import make_reporter, results_table
    from bench.run.runner import Runner

    if args.resume is not None:
        check_resume_conflicts(args)
        run_dir, cells, settings = load_resume(args.resume)
        timing = resume_timing(run_dir.env())
        done = {k for k, r in run_dir.latest_by_key().items() if r["status"] in ("ok", "diverged")}
        todo = [c for c in cells if c.key not in done]
        saved_dir = run_dir.env().get("data_dir")
        data_dir = check_data_dir(
            [c.dataset for c in cells], Path(saved_dir) if saved_dir else None
        )
        run_dir.drop_records(keep=done)
        console.print(f"resuming {run_dir.path}: {len(cells) - len(todo)} of {len(cells)} cells "
                      f"have results, {len(todo)} to run", markup=False)  # fmt: skip
    else:
        cells = plan_cells(plan_request(args), lambda message: console.print(message, markup=False))
        data_dir = str(args.data_dir.resolve()) if args.data_dir is not None else None
        device = resolve_device(args.device)
        cpus = parse_cpus(args.cpus)
        threads = args.threads or (len(cpus) if cpus else environment.usable_cores())
        if args.workers or args.scaling:
            threads = args.threads or check_distributed(args.workers, args.scaling, cells)
        settings = Settings(
            device=device, threads=threads, interop_threads=1,
            precision=cells[0].precision, memory_format=args.memory_format or "contiguous",
            cpus=cpus,
        )  # fmt: skip
        out_root = args.out or Path("results")
        check_out_dir(out_root, "--out")
        if args.report_dir is not None:
            check_out_dir(args.report_dir, "--report-dir")
        run_id = new_run_id()
        machine = environment.capture()
        calibration = run_calibration(
            [c.framework for c in cells], settings, machine["fingerprint"],
            out_root / "calibration.json", measure=not args.no_calibrate, console=console,
        )  # fmt: skip
        passes, pass_seconds = timing_defaults(cells[0].suite)  # per suite: quick is short
        timing = {
            "passes": passes if args.timing_passes is None else args.timing_passes,
            "pass_seconds": args.pass_seconds or pass_seconds,
            "loop_steps": args.loop_steps or 0,
            "fresh_worker": not args.reuse_workers,
        }
        env = {
            "run_id": run_id,
            "tag": args.tag,
            "suite": cells[0].suite,
            "settings": settings.to_dict(),
            "timing": timing,
            "plan": [c.to_dict() for c in cells],
            "data_dir": data_dir,
            "argv": sys.argv[1:],
            "calibration": calibration,
            **machine,
        }
        if args.workers:
            env["distributed"] = {"workers": args.workers, "scaling": args.scaling or "weak"}
        run_dir = RunDir.create(out_root / run_id, env)
        if machine["busy_processes"]:
            names = ", ".join(environment.busy_names(machine)[:3])
            console.print(f"warning: other processes are using the CPU ({names}); timings will be "
                          "noisy — torch's thread pool especially (recorded in env.json)",
                          markup=False)  # fmt: skip
        todo = cells
        console.print(f"run {run_id}: {len(cells)} cells, {settings.threads} threads, "
                      f"device {settings.device} → {run_dir.path}", markup=False)  # fmt: skip

    history = None
    if not args.no_history:
        history = History(args.history or run_dir.path.parent / "history.sqlite")
        history.add_run(run_dir.env())
    options = RunOptions(
        cell_timeout=args.cell_timeout,
        timing_passes=int(timing.get("passes", 4)),
        pass_seconds=float(timing.get("pass_seconds", 5.0)),
        data_dir=data_dir,
        fresh_worker=bool(timing.get("fresh_worker", True)),
        loop_steps=int(timing.get("loop_steps", 0)),
        **distributed_options(run_dir.env()),
    )
    runner = Runner(run_dir, settings, options, make_reporter(console), history=history)
    runner.run(todo)
    records = list(run_dir.latest_by_key().values())
    console.print(results_table(records))
    if options.workers:
        from bench.run.scaling import scaling_table

        console.print(scaling_table(records), markup=False)
    if not args.no_report:
        report_root = args.report_dir or Path("reports")
        path = write_report(run_dir, report_root / run_dir.run_id)
        console.print(f"report: {path}", markup=False)
    console.print(f"results: {run_dir.results_path}", markup=False)
    bad = [r for r in records if r["status"] != "ok"]
    return 1 if bad else 0


def distributed_options(env: dict[str, Any]) -> dict[str, Any]:
    """RunOptions fields of a distributed run (from env.json, so --resume keeps them)."""
    dist = env.get("distributed") or {}
    return {"workers": dist["workers"], "scaling": dist["scaling"]} if dist else {}


def load_resume(path: Path) -> tuple[RunDir, list[Cell], Settings]:
    run_dir = RunDir.open(path)
    run_dir.records()  # refuses another schema or a corrupt file before anything runs
    env = run_dir.env()
    if "plan" not in env or "settings" not in env:
        raise UsageError(f"{path}: env.json has no run plan; this run cannot be resumed")
    if env.get("sweep"):
        raise UsageError(f"{path} is a sweep (bench sweep): its points are not resumed; run the "
                         "sweep again")  # fmt: skip
    cells = [Cell.from_dict(c) for c in env["plan"]]
    return run_dir, cells, Settings.from_dict(env["settings"])


def plan_request(args: argparse.Namespace) -> PlanRequest:
    """The planning request of ``bench run``'s flags (the library takes no argparse)."""
    return PlanRequest(**{f.name: getattr(args, f.name, None) for f in fields(PlanRequest)})
