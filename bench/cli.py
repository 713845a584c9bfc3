"""``python -m bench``: run, list, report, env — a thin layer over the library.

Every usage error is one line on stderr and exit status 2; nothing on disk changes before the
input has been checked.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

from bench import catalog, environment
from bench.frameworks import DEFAULT_FRAMEWORKS, VARIANTS, get_variant
from bench.history import DEFAULT_PATH as DEFAULT_HISTORY
from bench.history import History
from bench.history_filters import Filters, filter_problem, known_names, since_date
from bench.results import SchemaError
from bench.specs import Cell, Settings
from bench.store import RunDir, new_run_id

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input: reported as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + traceback
        raise UsageError(f"{self.prog}: {message} (see --help)")


# -- argument types ------------------------------------------------------------------------


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        bound = "greater than 0" if minimum == 1 else f"{minimum} or more"
        raise argparse.ArgumentTypeError(f"{text} must be {bound}")
    return value


def positive_int(text: str) -> int:
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    return _whole_number(text, 0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number of seconds")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be a fraction in [0, 1), e.g. 0.05 or 5%")
    return value


def csv_list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


# -- the parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="train and time the models; write results and a report")
    run.add_argument("--frameworks", type=csv_list, help="e.g. torch,tf,keras (default: "
                     "the installed ones of torch, tf, keras)")  # fmt: skip
    run.add_argument("--models", type=csv_list, help="default: every model of the suite")
    run.add_argument("--dataset", type=csv_list, help="see bench list (default: the suite's)")
    run.add_argument("--data-dir", type=Path, metavar="DIR", help="where the datasets read "
                     "from files are: CIFAR-10 binary, MNIST IDX (see docs/data.md)")  # fmt: skip
    run.add_argument("--suite", default=None, help="quick (default) or paper")
    run.add_argument("--steps", type=positive_int, help="training steps (overrides the suite)")
    run.add_argument("--batch-size", type=positive_int, help="overrides the suite's")
    run.add_argument("--eval-every", type=positive_int, help="steps per round/evaluation")
    run.add_argument("--seed", type=non_negative_int, default=None, help="default 0")
    run.add_argument("--threads", type=positive_int, help="intra-op threads in every "
                     "framework (default: the usable cores)")  # fmt: skip
    run.add_argument("--device", choices=("cpu", "cuda", "auto"), default=None)
    run.add_argument("--precision", type=csv_list, default=None, help="fp32 (default), tf32 "
                     "(GPU), bf16, fp16, or several (fp32,bf16): mixed precision through each "
                     "framework's own machinery, see docs/precision.md")  # fmt: skip
    run.add_argument("--memory-format", choices=("contiguous", "channels-last"), default=None,
                     help="channels-last: torch 2-D conv models in NHWC memory "
                     "(TF/Keras are channels-last natively)")  # fmt: skip
    run.add_argument("--cpus", default=None, help="CPU-affinity mask of every worker, e.g. "
                     "0-3 (default: every CPU this process may use)")  # fmt: skip
    run.add_argument("--out", type=Path, default=None, help="results root (default results/)")
    run.add_argument("--report-dir", type=Path, default=None,
                     help="reports root (default reports/)")  # fmt: skip
    run.add_argument("--cell-timeout", type=positive_float, help="seconds per cell")
    run.add_argument("--loop-steps", type=non_negative_int, default=0,
                     help="per timing pass, one loop-scope window of this many steps per cell "
                     "(the framework's input pipeline included; default 0: none)")  # fmt: skip
    run.add_argument("--reuse-workers", action="store_true",
                     help="train a framework's cells in one worker (saves a framework import "
                     "per cell; the memory figures then depend on cell order)")  # fmt: skip
    run.add_argument(
        "--timing-passes",
        type=non_negative_int,
        default=None,
        help="fresh-process timing passes after training, the units of the "
        "throughput interval (default 4, quick suite 3; 0: time the training steps only)",
    )
    run.add_argument(
        "--pass-seconds",
        type=positive_float,
        default=None,
        help="throughput windows per cell and pass (default 5, quick suite 1)",
    )
    run.add_argument("--workers", type=positive_int, default=None,
                     help="data-parallel: each cell at 1 and N worker processes on the "
                     "framework's own engine (torch DDP, tf.distribute); one intra-op thread "
                     "per worker unless --threads (docs/distributed.md)")  # fmt: skip
    run.add_argument("--scaling", choices=("weak", "strong"), default=None,
                     help="with --workers: weak keeps the per-worker batch, strong the global "
                     "batch (default weak)")  # fmt: skip
    run.add_argument("--tag", default=None, help="a label for the run, shown in the report")
    run.add_argument("--resume", type=Path, metavar="RUN_DIR",
                     help="finish an interrupted run: only cells without a result run")  # fmt: skip
    run.add_argument("--no-report", action="store_true", help="skip the HTML report")
    run.add_argument("--history", type=Path, default=None,
                     help="history database (default: <out>/history.sqlite)")  # fmt: skip
    run.add_argument("--no-history", action="store_true", help="do not record in the history")
    run.add_argument(
        "--no-calibrate",
        action="store_true",
        help="do not measure the machine's matmul peak when it is not cached",
    )

    sub.add_parser("list", help="frameworks (installed or not), models, datasets, suites")

    report = sub.add_parser("report", help="rebuild a run's HTML report from its files")
    report.add_argument("run_dir", type=Path)
    report.add_argument("--out", type=Path, default=None, help="default reports/<run-id>/")

    compare = sub.add_parser("compare", help="per-cell change between two runs; exit 1 on a "
                             "regression")  # fmt: skip
    compare.add_argument("base", help="run directory, run id, branch (e.g. main) or commit")
    compare.add_argument("current", help="run directory, run id, branch, commit or HEAD")
    compare.add_argument("--threshold", type=fraction, default=0.05,
                         help="smallest slowdown that counts (default 0.05 = 5%%)")  # fmt: skip
    compare.add_argument("--memory-threshold", type=fraction, default=0.10,
                         help="smallest peak-memory rise that counts (default 0.10)")  # fmt: skip
    compare.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    compare.add_argument("--allow-machine-change", action="store_true",
                         help="compare runs from different machines anyway")  # fmt: skip
    compare.add_argument("--no-drift-correction", action="store_true",
                         help="judge each cell's raw change, not its change relative to the "
                         "median of all cells (the machine's drift)")  # fmt: skip
    compare.add_argument(
        "--history",
        type=Path,
        default=None,
        help="history database for ids/branches (default results/history.sqlite)",
    )

    hist = sub.add_parser("history", help="the history database: import runs, chart them")
    hist.add_argument("--import", dest="import_run", type=Path, metavar="RUN_DIR",
                      help="add an earlier run directory to the history")  # fmt: skip
    hist.add_argument("--import-pytest-benchmark", type=Path, metavar="FILE",
                      help="add a pytest-benchmark JSON file to the history")  # fmt: skip
    hist.add_argument("--report", action="store_true", help="write the history charts page")
    hist.add_argument("--out", type=Path, default=None, help="page directory "
                      "(default reports/history)")  # fmt: skip
    hist.add_argument(
        "--all-machines",
        action="store_true",
        help="chart runs of every machine (default: this machine's only)",
    )
    hist.add_argument(
        "--history", type=Path, default=None, help="database (default results/history.sqlite)"
    )
    hist.add_argument("--suite", help="--report: runs of this suite only")
    hist.add_argument("--since", type=since_date, help="--report: runs from this date "
                      "(YYYY-MM-DD, UTC) or ISO 8601 time on")  # fmt: skip
    hist.add_argument("--branch", help="--report: runs of this git branch only")
    hist.add_argument("--models", type=csv_list, help="--report: these models only (a,b)")
    hist.add_argument("--frameworks", type=csv_list, help="--report: these variants only")

    cal = sub.add_parser("calibrate", help="measure this machine's float32 matmul peak per "
                         "framework and its memory bandwidth")  # fmt: skip
    cal.add_argument("--frameworks", type=csv_list, help="default: every installed one")
    cal.add_argument("--threads", type=positive_int, help="default: the usable cores")
    cal.add_argument("--device", choices=("cpu", "cuda", "auto"), default=None)
    cal.add_argument("--out", type=Path, default=None,
                     help="cache file (default results/calibration.json)")  # fmt: skip

    sub.add_parser("env", help="print this machine's environment as the runs record it")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Logs and CI get wide tables; a terminal gets its own width.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
    try:
        args = build_parser().parse_args(argv)
        command = {
            "run": cmd_run, "list": cmd_list, "report": cmd_report, "env": cmd_env,
            "compare": cmd_compare, "calibrate": cmd_calibrate, "history": cmd_history,
        }  # fmt: skip
        return command[args.command](args, console)
    except (UsageError, SchemaError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)  # one line, never wrapped
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("bench: interrupted; finished cells are saved (finish with --resume RUN_DIR)",
              file=sys.stderr)  # fmt: skip
        return 130


# -- run ---------------------------------------------------------------------------------------


def _check_out_dir(path: Path, what: str) -> None:
    """Refuse an output root that is a file or cannot be written, before anything runs.

    Writability is tried, not inferred from permission bits (root passes every access check
    yet cannot write under /proc or on a read-only mount).
    """
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{what} {path} is not a directory ({probe} is a file)")
    try:
        fd, name = tempfile.mkstemp(prefix=".bench-probe-", dir=probe)
    except OSError:
        raise UsageError(f"{what} {path} is not writable") from None
    os.close(fd)
    os.unlink(name)


def resolve_device(requested: str | None) -> str:
    gpus = environment.gpu_names()
    if requested in (None, "cpu"):
        return "cpu"
    if requested == "auto":
        return "cuda" if gpus else "cpu"
    if not gpus:
        raise UsageError("--device cuda: no CUDA GPU on this machine (nvidia-smi finds none); "
                         "use --device cpu or auto")  # fmt: skip
    return "cuda"


def plan_cells(args: argparse.Namespace, console: Console) -> list[Cell]:
    """The cells the flags ask for; unknown names are usage errors, missing frameworks skips."""
    suite_name = args.suite or "quick"
    if suite_name not in catalog.SUITES:
        raise UsageError(f"unknown suite {suite_name!r}; choose from {', '.join(catalog.SUITES)}")
    suite = catalog.SUITES[suite_name]
    requested = args.frameworks or list(suite.frameworks or DEFAULT_FRAMEWORKS)
    for name in requested:
        try:
            get_variant(name)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    for name in args.models or []:
        if name not in catalog.MODEL_NAMES:
            raise UsageError(
                f"unknown model {name!r}; choose from {', '.join(catalog.MODEL_NAMES)}"
            )
    for name in args.dataset or []:
        if name not in catalog.DATASET_NAMES:
            raise UsageError(
                f"unknown dataset {name!r}; choose from {', '.join(catalog.DATASET_NAMES)}"
            )
    datasets = args.dataset or list(dict.fromkeys(d for _, d in suite.pairs))
    check_data_dir(datasets, args.data_dir)
    frameworks = []
    for name in dict.fromkeys(requested):
        missing = VARIANTS[name].missing()
        if missing:
            console.print(f"skipping {name}: {', '.join(missing)} not installed "
                          f"(install with: {VARIANTS[name].install})", markup=False)  # fmt: skip
        else:
            frameworks.append(name)
    if not frameworks:
        raise UsageError("no requested framework is installed; nothing to run")

    models = args.models or list(dict.fromkeys(m for m, _ in suite.pairs))
    pairs = [(m, d) for d in datasets for m in catalog.MODELS_BY_DATASET.get(d, ()) if m in models]
    pairs += _own_datasets(args, models, pairs, datasets, console)
    if not pairs:
        raise UsageError("no (model, dataset) pair matches --models/--dataset; "
                         f"registered: {_pairs_text()}")  # fmt: skip

    device = resolve_device(args.device)
    recipes = {}
    for m, d in pairs:  # each suite entry has its own recipe (catalog.Entry)
        entry = suite.entry(m, d)
        recipe = entry.recipe_on(device)
        if recipe is not entry.recipe:
            console.print(f"{m} on {d}: on a CPU, {recipe.steps} steps at batch "
                          f"{recipe.batch_size} instead of the suite's GPU-sized "
                          f"{entry.recipe.batch_size}", markup=False)  # fmt: skip
        if args.steps is not None:
            recipe = replace(recipe, steps=args.steps)
        if args.batch_size is not None:
            recipe = replace(recipe, batch_size=args.batch_size)
        if args.eval_every is not None:
            recipe = replace(recipe, eval_every=args.eval_every)
        recipes[m, d] = replace(recipe, eval_every=min(recipe.eval_every, recipe.steps),
                                warmup_steps=min(recipe.warmup_steps,
                                                 max(recipe.steps // 5, 1)))  # fmt: skip
    from bench import data

    for (_, dataset), recipe in recipes.items():
        n_train = data.train_size(dataset, args.data_dir)
        if recipe.batch_size > n_train:
            raise UsageError(f"--batch-size {recipe.batch_size} is larger than the {n_train} "
                             f"training samples of {dataset}")  # fmt: skip
    seed = args.seed if args.seed is not None else 0
    precisions = _check_precision(args, device, frameworks, pairs, console)
    return [Cell(fw, m, d, suite_name, recipes[m, d], seed, p)
            for p in precisions for m, d in pairs for fw in frameworks]  # fmt: skip


def _own_datasets(
    args: argparse.Namespace,
    models: list[str],
    pairs: list[tuple[str, str]],
    datasets: list[str],
    console: Console,
) -> list[tuple[str, str]]:
    """Pairs for a model named with --models that the suite's datasets do not declare (say
    ``--models mlp,cnn,resnet20`` in the quick suite, which is MNIST-1D only): without --dataset it
    runs on its own first bundled dataset, and the CLI says so; with --dataset it is skipped,
    and the CLI says that too. Either way, nothing asked for disappears silently."""
    from bench import data

    placed = {m for m, _ in pairs}
    extra = []
    for model in dict.fromkeys(args.models or []):
        if model in placed:
            continue
        declared = [d for d, ms in catalog.MODELS_BY_DATASET.items() if model in ms]
        if args.dataset:
            console.print(f"skipping {model}: not declared on {', '.join(datasets)} "
                          f"(it is on {', '.join(declared)})", markup=False)  # fmt: skip
            continue
        known = [d for d in declared if d in data.DATASET_NAMES]
        own = ([d for d in known if data.info(d).source == "bundled"]
               or [d for d in known if not data.info(d).needs_data_dir])  # fmt: skip
        if not own:
            console.print(f"skipping {model}: its datasets ({', '.join(declared)}) are read "
                          "from files: give --dataset and --data-dir", markup=False)  # fmt: skip
            continue
        console.print(f"{model}: not declared on the suite's {', '.join(datasets)}; "
                      f"running it on {own[0]}, its own data", markup=False)  # fmt: skip
        extra.append((model, own[0]))
    return extra


def _check_precision(
    args: argparse.Namespace,
    device: str,
    frameworks: list[str],
    pairs: list[tuple[str, str]],
    console: Console,
) -> list[str]:
    """--precision and --memory-format against the device and the models (bench.precision)."""
    from bench import architectures, precision

    try:
        wanted = list(dict.fromkeys(precision.canonical(p) for p in args.precision or ["fp32"]))
    except ValueError as exc:
        raise UsageError(f"--precision: {exc}") from None
    for p in wanted:
        if refused := precision.refusal(p, device):
            raise UsageError(refused)
        if note := precision.cost_note(p, device, precision.cpu_flags()):
            console.print(f"note: {note}", markup=False)
    if getattr(args, "memory_format", None) == "channels-last" and any(
        get_variant(f).family == "torch" for f in frameworks
    ):
        for m, d in pairs:
            spec = catalog.model_spec(m, d)
            kinds = [type(layer).__name__ for layer in architectures.layers(spec)]
            if refused := precision.channels_last_refusal(m, spec.input_shape, kinds):
                raise UsageError(refused)
    return wanted


def check_data_dir(datasets: list[str], data_dir: Path | None) -> str | None:
    """--data-dir against the datasets: given exactly when one reads files, and those files
    read cleanly (each bad file is one line naming it). Returns the directory, resolved."""
    from bench import data

    needs = [d for d in datasets if data.info(d).needs_data_dir]
    if data_dir is None:
        if needs:
            raise UsageError(f"dataset {needs[0]} is read from files: give --data-dir DIR "
                             "(see docs/data.md)")  # fmt: skip
        return None
    if not needs:
        raise UsageError(f"--data-dir is only read by the datasets {', '.join(data.FILE_DATASETS)}"
                         f"; {', '.join(datasets)} need no files")  # fmt: skip
    try:
        for name in needs:
            data.load(name, data_dir=data_dir)  # reads and checks every file (cached for the run)
    except data.DataFileError as exc:
        raise UsageError(str(exc)) from None
    return str(data_dir.resolve())


def _pairs_text() -> str:
    return "; ".join(f"{d}: {', '.join(ms)}" for d, ms in catalog.MODELS_BY_DATASET.items())


def _check_resume_conflicts(args: argparse.Namespace) -> None:
    fixed = ["frameworks", "models", "dataset", "suite", "steps", "batch_size", "eval_every",
             "seed", "threads", "device", "tag", "out", "history", "timing_passes",
             "pass_seconds", "data_dir", "precision", "memory_format", "cpus", "workers",
             "scaling"]  # fmt: skip
    given = [f"--{name.replace('_', '-')}" for name in fixed if getattr(args, name) is not None]
    if given:
        raise UsageError(f"--resume continues a run exactly as it was planned; drop "
                         f"{', '.join(given)}")  # fmt: skip


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from bench.progress import make_reporter, results_table
    from bench.runner import Runner, RunOptions, timing_defaults

    if args.resume is not None:
        _check_resume_conflicts(args)
        run_dir, cells, settings = _load_resume(args.resume)
        timing = run_dir.env().get("timing") or {}
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
        cells = plan_cells(args, console)
        data_dir = str(args.data_dir.resolve()) if args.data_dir is not None else None
        device = resolve_device(args.device)
        cpus = _cpus(args.cpus)
        threads = args.threads or (len(cpus) if cpus else environment.usable_cores())
        if args.workers or args.scaling:
            threads = args.threads or check_distributed(args, cells)
        settings = Settings(
            device=device, threads=threads, interop_threads=1,
            precision=cells[0].precision, memory_format=args.memory_format or "contiguous",
            cpus=cpus,
        )  # fmt: skip
        out_root = args.out or Path("results")
        _check_out_dir(out_root, "--out")
        if args.report_dir is not None:
            _check_out_dir(args.report_dir, "--report-dir")
        run_id = new_run_id()
        machine = environment.capture()
        calibration = _calibration(
            [c.framework for c in cells], settings, machine["fingerprint"],
            out_root / "calibration.json", measure=not args.no_calibrate, console=console,
        )  # fmt: skip
        passes, pass_seconds = timing_defaults(cells[0].suite)  # per suite: quick is short
        timing = {
            "passes": passes if args.timing_passes is None else args.timing_passes,
            "pass_seconds": args.pass_seconds or pass_seconds,
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
            names = ", ".join(
                f"{b['name']} ({b['cpu_percent']}%)" for b in machine["busy_processes"][:3]
            )
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
        fresh_worker=not getattr(args, "reuse_workers", False),
        loop_steps=getattr(args, "loop_steps", 0) or 0,
        **distributed_options(run_dir.env()),
    )
    runner = Runner(run_dir, settings, options, make_reporter(console), history=history)
    runner.run(todo)
    records = list(run_dir.latest_by_key().values())
    console.print(results_table(records))
    if options.workers:
        from bench.distributed import scaling_table

        console.print(scaling_table(records), markup=False)
    if not args.no_report:
        report_root = args.report_dir or Path("reports")
        path = _write_report(run_dir, report_root / run_dir.run_id)
        console.print(f"report: {path}", markup=False)
    console.print(f"results: {run_dir.results_path}", markup=False)
    bad = [r for r in records if r["status"] != "ok"]
    return 1 if bad else 0


def _cpus(text: str | None) -> tuple[int, ...] | None:
    """--cpus as a tuple of CPU numbers (None: every CPU this process may use)."""
    if text is None:
        return None
    from bench import precision

    try:
        return precision.parse_cpus(text, set(os.sched_getaffinity(0)))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def check_distributed(args: argparse.Namespace, cells: list[Cell]) -> int:
    """--workers/--scaling against the plan; the intra-op threads per worker (1)."""
    from bench.distributed import DISTRIBUTED_FRAMEWORKS, global_batch

    if not args.workers:
        raise UsageError("--scaling needs --workers N")
    other = sorted({c.framework for c in cells} - set(DISTRIBUTED_FRAMEWORKS))
    if other:
        raise UsageError(f"--workers runs {', '.join(DISTRIBUTED_FRAMEWORKS)} only, not "
                         f"{', '.join(other)}")  # fmt: skip
    for c in cells:
        try:
            global_batch(c.recipe.batch_size, args.workers, args.scaling or "weak")
        except ValueError as exc:
            raise UsageError(f"{c.key}: {exc}") from None
    return 1


def distributed_options(env: dict[str, Any]) -> dict[str, Any]:
    """RunOptions fields of a distributed run (from env.json, so --resume keeps them)."""
    dist = env.get("distributed") or {}
    return {"workers": dist["workers"], "scaling": dist["scaling"]} if dist else {}


def _load_resume(path: Path) -> tuple[RunDir, list[Cell], Settings]:
    run_dir = RunDir.open(path)
    run_dir.records()  # refuses another schema or a corrupt file before anything runs
    env = run_dir.env()
    if "plan" not in env or "settings" not in env:
        raise UsageError(f"{path}: env.json has no run plan; this run cannot be resumed")
    cells = [Cell.from_dict(c) for c in env["plan"]]
    return run_dir, cells, Settings.from_dict(env["settings"])


def _write_report(run_dir: RunDir, out: Path) -> Path:
    from bench.report import build_report

    return build_report(run_dir.path, out)


# -- list, report, env -------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Frameworks")
    for col in ("name", "tier", "installed", "what it is / how to install"):
        table.add_column(col)
    for v in VARIANTS.values():
        missing = v.missing()
        how = v.description if not missing else f"not installed: {v.install}"
        table.add_row(v.name, v.tier, "yes" if not missing else "no", escape(how))
    console.print(table)
    models = Table(title="Models")
    for col in ("model", "datasets", "architecture"):
        models.add_column(col)
    for m in catalog.MODEL_NAMES:
        ds = [d for d, ms in catalog.MODELS_BY_DATASET.items() if m in ms]
        models.add_row(m, ", ".join(ds), catalog.MODEL_DESCRIPTIONS[m])
    console.print(models)
    from bench.data import INFO

    datasets = Table(title="Datasets")
    for col in ("dataset", "source", "what it is"):
        datasets.add_column(col)
    source = {"bundled": "bundled", "synthetic": "synthetic", "files": "needs --data-dir"}
    for name, info in INFO.items():
        datasets.add_row(name, source[info.source], escape(info.description))
    console.print(datasets)
    suites = Table(title="Suites")
    for col in ("suite", "cells per framework", "recipe", "what it is for"):
        suites.add_column(col)
    for s in catalog.SUITES.values():
        text = "; ".join(dict.fromkeys(
            f"{r.optimizer} lr {r.lr:g}, batch {r.batch_size}, {r.steps} steps"
            for r in (e.recipe for e in s.entries)))  # fmt: skip
        suites.add_row(s.name, str(len(s.pairs)), text, s.description)
    console.print(suites)
    return 0


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    run_dir = RunDir.open(args.run_dir)
    records = run_dir.records()
    if not records:
        raise UsageError(f"{args.run_dir}: the run has no results yet; nothing to report")
    out = args.out or Path("reports") / run_dir.run_id
    path = _write_report(run_dir, out)
    console.print(f"report: {path}", markup=False)
    return 0


def _load_run(ref: str, history_path: Path | None) -> tuple[str, list[dict], dict]:
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
    from rich.table import Table

    from bench import compare

    base_name, base, base_env = _load_run(args.base, args.history)
    cur_name, current, cur_env = _load_run(args.current, args.history)
    why = compare.machine_difference(base_env, cur_env)
    if why and not args.allow_machine_change:
        raise UsageError(f"the two runs come from different machines ({why} differ); timings are "
                         "not comparable across machines: pass --allow-machine-change to compare "
                         "anyway")  # fmt: skip
    results = compare.compare_runs(base, current, args.threshold, args.memory_threshold,
                                   drift_correction=not args.no_drift_correction)  # fmt: skip
    software = compare.software_changes(base_env, cur_env)
    if args.format == "markdown":
        print(compare.to_markdown(results, base_name, cur_name, args.threshold, software), end="")
    elif args.format == "json":
        print(compare.to_json(results, base_name, cur_name, software))
    else:
        if software:
            console.print(compare.software_line(software), markup=False)
        table = Table(title=f"{base_name} → {cur_name}")
        for col in compare.HEADER:
            table.add_column(col)
        for row in compare.rows(results):
            table.add_row(*row)
        console.print(table)
        bad = compare.regressed(results)
        if why:
            console.print(f"note: different machines ({why})", markup=False)
        console.print(compare.drift_line(results).replace("`", ""), markup=False)
        console.print(f"{len(bad)} regression(s)" + (": " + ", ".join(c.key for c in bad)
                                                      if bad else ""), markup=False)  # fmt: skip
    return 1 if compare.regressed(results) else 0


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
        from bench.pytest_benchmark_import import import_pytest_benchmark

        source = args.import_pytest_benchmark
        if not source.is_file():
            raise UsageError(f"{source}: no such file")
        n = import_pytest_benchmark(History(path), source)
        console.print(f"imported {n} benchmarks from {source} into {path}", markup=False)
    if args.report:
        from bench.history_page import build_history_page

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
        _check_out_dir(out, "--out")
        page = build_history_page(db, out, fingerprint, filters)
        console.print(f"history page: {page}", markup=False)
    return 0


def _calibration(
    frameworks: list[str],
    settings: Settings,
    fingerprint: str,
    path: Path,
    measure: bool,
    console: Console,
) -> dict[str, Any] | None:
    """This machine's cached peaks, measured now if missing (and allowed)."""
    from bench import calibrate

    cached = calibrate.load_cached(path, fingerprint, settings.threads, settings.device)
    needed = {calibrate.LIBRARY_OF_FAMILY[VARIANTS[f].family] for f in frameworks}
    if cached and needed <= set(cached["matmul_gflops"]):
        return cached
    if not measure:
        return cached
    console.print("measuring this machine's matmul peak (once per machine; see bench calibrate)",
                  markup=False)  # fmt: skip
    every = [f for f in DEFAULT_FRAMEWORKS if VARIANTS[f].available()]
    result = calibrate.calibrate(every, settings.threads, settings.device)
    calibrate.save_cached(path, fingerprint, result)
    return result


def cmd_calibrate(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from bench import calibrate

    names = args.frameworks or [f for f in DEFAULT_FRAMEWORKS if VARIANTS[f].available()]
    for name in names:
        try:
            if not get_variant(name).available():
                raise UsageError(
                    f"{name} is not installed (install with: {VARIANTS[name].install})"
                )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    threads = args.threads or environment.usable_cores()
    device = resolve_device(args.device)
    path = args.out or Path("results/calibration.json")
    _check_out_dir(path.parent, "--out")
    result = calibrate.calibrate(names, threads, device)
    calibrate.save_cached(path, environment.capture()["fingerprint"], result)
    table = Table(title=f"float32 matmul peak, {threads} threads, {device}")
    table.add_column("library")
    table.add_column("GFLOP/s", justify="right")
    for lib, value in result["matmul_gflops"].items():
        table.add_row(lib, f"{value:,.1f}")
    for lib, error in result["errors"].items():
        table.add_row(lib, f"failed: {error}")
    console.print(table)
    console.print(f"memory bandwidth (copy): {result['memory_bandwidth_gbs']:,.1f} GB/s",
                  markup=False)  # fmt: skip
    console.print(f"saved to {path}", markup=False)
    return 0


def cmd_env(args: argparse.Namespace, console: Console) -> int:
    import json

    env: dict[str, Any] = environment.capture()
    console.print_json(json.dumps(env))
    return 0
