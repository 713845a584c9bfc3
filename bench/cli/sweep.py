"""``bench sweep``: throughput points over batch sizes, intra-op threads and sequence lengths; the
fixed vs per-sample cost fit, the crossovers, the largest batch that fits a memory budget and
the thread scaling, printed and written as a report (docs/sweeps.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.cli.args import check_out_dir, csv_list, non_negative_int, positive_float, positive_int
from bench.measure import environment
from bench.run.plan import PlanError, PlanRequest, resolve_device
from bench.run.store import RunDir, new_run_id
from bench.run.sweep_plan import CUTS, SweepRequest, parse_axis, plan_sweep

#: A sweep's timing unless told: 3 passes (the fewest that give a pass-level interval) of
#: 0.5 s of windows per point (hundreds of steps of the MNIST-1D models, a few of ResNet-20).
DEFAULT_PASSES, DEFAULT_PASS_SECONDS = 3, 0.5


def add_sweep_parser(sub: Any) -> None:
    sweep = sub.add_parser("sweep", help="throughput points over batch sizes, threads and "
                           "sequence lengths: fixed vs per-sample cost, crossovers")  # fmt: skip
    sweep.add_argument("--frameworks", type=csv_list, help="e.g. torch,tf,keras")
    sweep.add_argument("--models", type=csv_list, help="default: every model of the suite")
    sweep.add_argument("--dataset", type=csv_list, help="e.g. mnist1d, synthetic-cifar10")
    sweep.add_argument("--suite", default=None, help="whose recipes the points use (quick)")
    sweep.add_argument("--data-dir", type=Path, metavar="DIR", help="as for bench run")
    sweep.add_argument("--seed", type=non_negative_int, default=None)
    sweep.add_argument("--device", choices=("cpu", "cuda", "auto"), default=None)
    sweep.add_argument("--batch-sizes", default=None, metavar="B1,B2,...",
                       help="increasing batch sizes (default: the recipe's)")  # fmt: skip
    sweep.add_argument(
        "--threads",
        default=None,
        metavar="T1,T2,...",
        help="increasing intra-op thread counts, up to the usable cores",
    )
    sweep.add_argument("--seq-lens", default=None, metavar="T1,T2,...",
                       help="increasing sequence lengths (sequence models only)")  # fmt: skip
    sweep.add_argument("--tiny", action="store_true", help="each architecture's tiny "
                       "configuration (layers, width) on the same data: length sweeps of "
                       "BERT- or GPT-2-sized models on 2 cores")  # fmt: skip
    sweep.add_argument("--memory-budget", default=None, metavar="SIZE",
                       help="also find the largest batch whose training-steps peak fits, e.g. "
                       "4GiB, or 'device': the GPU's memory (the default on a GPU)")  # fmt: skip
    sweep.add_argument(
        "--timing-passes",
        type=positive_int,
        default=None,
        help=f"fresh-worker passes per point (default {DEFAULT_PASSES})",
    )
    sweep.add_argument("--pass-seconds", type=positive_float, default=None,
                       help=f"seconds of windows per point and pass "
                       f"(default {DEFAULT_PASS_SECONDS})")  # fmt: skip
    sweep.add_argument("--cell-timeout", type=positive_float, help="seconds per point")
    sweep.add_argument("--out", type=Path, default=None, help="results root (default results/)")
    sweep.add_argument("--report-dir", type=Path, default=None, help="default reports/")
    sweep.add_argument("--no-report", action="store_true")
    sweep.add_argument("--no-history", action="store_true")
    sweep.add_argument("--yes", action="store_true", help="allow more than 200 points")


def sweep_request(args: argparse.Namespace) -> SweepRequest:
    base = PlanRequest(
        suite=args.suite, frameworks=args.frameworks, models=args.models, dataset=args.dataset,
        data_dir=args.data_dir, seed=args.seed, device=args.device,
    )  # fmt: skip
    axes = {name: None if getattr(args, name) is None
            else parse_axis(getattr(args, name), "--" + name.replace("_", "-"))
            for name in ("batch_sizes", "threads", "seq_lens")}  # fmt: skip
    return SweepRequest(base, yes=args.yes, tiny=args.tiny, **axes)


def cmd_sweep(args: argparse.Namespace, console: Console) -> int:
    from bench.run.options import RunOptions
    from bench.run.sweep_runner import LABEL, run_points
    from bench.track.history import History
    from bench.zoo.specs import Settings

    say = lambda message: console.print(message, markup=False)  # noqa: E731
    request = sweep_request(args)
    cells = plan_sweep(request, say)
    device = resolve_device(args.device)
    budget = _budget(args, cells, device)
    out_root = args.out or Path("results")
    check_out_dir(out_root, "--out")
    if args.report_dir is not None:
        check_out_dir(args.report_dir, "--report-dir")
    # the most threads of the sweep (each thread count runs with its own; records say which)
    top = max(c.threads or environment.usable_cores() for c in cells)
    settings = Settings(device=device, threads=top, interop_threads=1)
    timing = {
        "passes": args.timing_passes or DEFAULT_PASSES,
        "pass_seconds": args.pass_seconds or DEFAULT_PASS_SECONDS,
        "loop_steps": 0,
        "fresh_worker": True,
    }
    machine = environment.capture()
    env = {
        "run_id": new_run_id(), "tag": "sweep", "suite": cells[0].suite,
        "settings": settings.to_dict(), "timing": timing, "plan": [c.to_dict() for c in cells],
        "data_dir": None, "argv": sys.argv[1:], "calibration": None,
        "sweep": {"kind": LABEL, "axes": _axes(request, cells),
                  "cuts": {k: {"sweep": v[0], "suite": v[1]} for k, v in CUTS.items()},
                  "memory_budget_bytes": budget},
        **machine,
    }  # fmt: skip
    run_dir = RunDir.create(out_root / env["run_id"], env)
    if machine["busy_processes"]:
        names = ", ".join(environment.busy_names(machine)[:3])
        say(f"warning: other processes are using the CPU ({names}); timings will be noisy")
    say(f"sweep {env['run_id']}: {len(cells)} {LABEL}s (timed, not trained to accuracy), "
        f"{timing['passes']} passes of {timing['pass_seconds']:g} s; cut below the suite's "
        f"floors: " + ", ".join(f"{k.replace('_', ' ')} {v[0]} (suite {v[1]})"
                                for k, v in CUTS.items()) + f" → {run_dir.path}")  # fmt: skip
    history = None if args.no_history else History(run_dir.path.parent / "history.sqlite")
    if history is not None:
        history.add_run(run_dir.env())
    options = RunOptions(
        cell_timeout=args.cell_timeout, timing_passes=int(timing["passes"]),
        pass_seconds=float(timing["pass_seconds"]),
    )  # fmt: skip
    run_points(run_dir, settings, options, _Notes(console), cells, history)
    if budget is not None:
        _fit_search(run_dir, env, cells, budget, settings, options, console)
    records = list(run_dir.latest_by_key().values())
    _print_summary(console, records, run_dir)
    if not args.no_report:
        from bench.cli.report import write_report

        path = write_report(run_dir, (args.report_dir or Path("reports")) / run_dir.run_id)
        say(f"report: {path}")
    say(f"results: {run_dir.results_path}")
    return 1 if any(r["status"] != "ok" or r.get("throughput") is None for r in records) else 0


def _axes(request: SweepRequest, cells: list[Any]) -> dict[str, Any]:
    return {
        "batch_sizes": sorted({c.recipe.batch_size for c in cells}),
        "threads": sorted({c.threads for c in cells}),
        "seq_lens": request.seq_lens,
    }


def _budget(args: argparse.Namespace, cells: list[Any], device: str) -> int | None:
    """The memory budget in bytes, checked before anything is written (None: no search). On a
    GPU the search runs by default, within the device's memory (``--memory-budget device``)."""
    text = args.memory_budget or ("device" if device == "cuda" else None)
    if text is None:
        return None
    from bench.measure.gpu_environment import device_memory_bytes
    from bench.run.fit_search import check_budget, parse_size

    if text == "device":
        budget = device_memory_bytes() if device == "cuda" else None
        if budget is None:
            raise PlanError("--memory-budget device: needs --device cuda and a GPU nvidia-smi "
                            "reports; give a size (e.g. 4GiB) on a CPU")  # fmt: skip
        return budget
    budget = parse_size(text)
    check_budget(budget, sorted({c.framework for c in cells}))
    return budget


def _fit_search(run_dir: RunDir, env: dict[str, Any], cells: list[Any], budget: int,
                settings: Any, options: Any, console: Console) -> None:  # fmt: skip
    """The largest batch within ``budget`` per framework and model (bench.run.fit_search), at
    the sweep's most threads; the tries go to a run directory of their own inside the sweep's."""
    from dataclasses import replace

    from bench import data
    from bench.run.fit_search import largest_batch

    say = _Notes(console)
    say.note(f"largest batch within {budget / 2**20:.0f} MiB (training-steps peak above the "
             "baseline), doubling then bisection, each try in a fresh worker:")  # fmt: skip
    tries_dir = RunDir.create(run_dir.path / "fit-search", {**env, "tag": "fit-search"})
    top = max(c.threads for c in cells)
    seen, results = set(), []
    for cell in cells:
        what = (cell.framework, cell.model, cell.dataset)
        if what in seen or cell.threads != top:
            continue
        seen.add(what)
        n_train = data.train_size(cell.dataset)
        start = search_start(run_dir, cell, budget)
        results.append(largest_batch(tries_dir, replace(settings, threads=top), options, say,
                                     cell, budget, n_train, start))  # fmt: skip
    run_dir.update_env(sweep={**env["sweep"], "fit_search": results})


def search_start(run_dir: RunDir, cell: Any, budget: int) -> int:
    """Where the search starts: the largest batch the sweep timed for this framework and model
    whose memory figure was within the budget (its own try confirms it), else the smallest."""
    from bench.measure import memory

    points = [
        r
        for r in run_dir.latest_by_key().values()
        if r.get("sweep") and (r["framework"], r["model"]) == (cell.framework, cell.model)
    ]
    within = [r["sweep"]["batch_size"] for r in points
              if (m := memory.gated_figure(r)) and m["bytes"] <= budget]  # fmt: skip
    return max(within, default=min((r["sweep"]["batch_size"] for r in points), default=8))


def _print_summary(console: Console, records: list[dict[str, Any]], run_dir: RunDir) -> None:
    from bench.track.sweep_text import fit_search_text, sweep_text

    console.print(sweep_text(records), markup=False)
    search = (run_dir.env().get("sweep") or {}).get("fit_search")
    if search:
        console.print(fit_search_text(search), markup=False)


class _Notes:
    """A reporter that prints the runner's notes (pass n of m) and nothing per step: a point
    has no training steps to follow."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def start(self, cells: list[Any]) -> None:
        pass

    def advance(self, cell: Any, step: int) -> None:
        pass

    def finished(self, record: dict[str, Any]) -> None:
        pass

    def note(self, message: str) -> None:
        self.console.print(message, markup=False)

    def stop(self) -> None:
        pass


__all__ = ["PlanError", "add_sweep_parser", "cmd_sweep"]
