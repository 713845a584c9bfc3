"""``bench history``: the history database's runs, and its HTML page of regression charts."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from bench.cli.args import UsageError, check_out_dir
from bench.measure import environment
from bench.run.store import RunDir
from bench.track.filters import Filters, filter_problem, known_names
from bench.track.history import DEFAULT_PATH as DEFAULT_HISTORY
from bench.track.history import History


def cmd_history(args: argparse.Namespace, console: Console) -> int:
    path = args.history or DEFAULT_HISTORY
    filtering = args.suite or args.since or args.branch or args.models or args.frameworks
    if filtering and not args.report:
        raise UsageError("history: --suite, --since, --branch, --models and --frameworks "
                         "choose what --report charts; add --report")  # fmt: skip
    if not (args.import_run or args.import_pytest_benchmark or args.report):
        raise UsageError("history: say what to do: --import RUN_DIR, "
                         "--import-pytest-benchmark FILE or --report")  # fmt: skip
    if args.import_run is not None:
        RunDir.open(args.import_run).records()  # refuse a bad run before touching the database
        n = History(path).import_run(args.import_run)
        console.print(f"imported {n} cells from {args.import_run} into {path}", markup=False)
    if args.import_pytest_benchmark is not None:
        from bench.track.pytest_benchmark_import import import_pytest_benchmark

        source = args.import_pytest_benchmark
        if not source.is_file():
            raise UsageError(f"{source}: no such file")
        n = import_pytest_benchmark(History(path), source)
        console.print(f"imported {n} benchmarks from {source} into {path}", markup=False)
    if args.report:
        from bench.track.page import build_history_page

        models, frameworks = tuple(args.models or ()), tuple(args.frameworks or ())
        filters = Filters(args.suite, args.since, args.branch, models, frameworks)
        db = History(path) if path.is_file() else None
        problem = filter_problem(filters, known_names(db))
        if problem:
            raise UsageError(problem)
        if db is None:
            raise UsageError(f"no history database at {path}; run the suite first")
        fingerprint = None if args.all_machines else environment.capture()["fingerprint"]
        out = args.out or Path("reports/history")
        check_out_dir(out, "--out")
        page = build_history_page(db, out, fingerprint, filters)
        console.print(f"history page: {page}", markup=False)
    return 0
