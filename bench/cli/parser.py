"""The argument parser of ``python -m bench``: every command, flag and default in one place."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.catalog.suites import SUITES
from bench.cli.args import (
    Parser,
    csv_list,
    fraction,
    non_negative_int,
    positive_float,
    positive_int,
)
from bench.cli.sweep import add_sweep_parser
from bench.track.filters import since_date

#: What ``bench --help`` says first (the same line as before the command line became a package).
DESCRIPTION = "``python -m bench``: run, list, report, env — a thin layer over the library."


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="bench", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    run = sub.add_parser("run", help="train and time the models; write results and a report")
    run.add_argument("--frameworks", type=csv_list, help="e.g. torch,tf,keras (default: "
                     "the installed ones of torch, tf, keras)")  # fmt: skip
    run.add_argument("--models", type=csv_list, help="default: every model of the suite")
    run.add_argument("--dataset", type=csv_list, help="one or several, e.g. digits,mnist1d; "
                     "see bench list (default: the suite's)")  # fmt: skip
    run.add_argument("--data-dir", type=Path, metavar="DIR", help="where the datasets read "
                     "from files are: CIFAR-10 binary, MNIST IDX (see docs/data.md)")  # fmt: skip
    run.add_argument("--suite", default=None, help=f"{', '.join(SUITES)} (default quick; "
                     "bench list shows each one's cells)")  # fmt: skip
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
    run.add_argument("--loop-steps", type=non_negative_int, default=None,
                     help="per timing pass, one loop-scope window of this many steps per cell "
                     "(the framework's input pipeline included; default 0: none)")  # fmt: skip
    run.add_argument("--reuse-workers", action="store_true", default=None,
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
                     help="finish an interrupted run with the settings saved when it started "
                     "(only cells without a result run; a flag that would change them is "
                     "refused)")  # fmt: skip
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
                             "regression, 3 when the machine was disturbed")  # fmt: skip
    compare.add_argument("base", help="run directory, run id, branch (e.g. main) or commit")
    compare.add_argument("current", help="run directory, run id, branch, commit or HEAD")
    compare.add_argument("--threshold", type=fraction, default=0.05,
                         help="smallest slowdown that counts (default 0.05 = 5%%)")  # fmt: skip
    compare.add_argument("--memory-threshold", type=fraction, default=0.10,
                         help="smallest memory rise that counts, if also significant over "
                              "the passes' samples (default 0.10)")  # fmt: skip
    compare.add_argument("--disturbance-threshold", type=fraction, default=0.15,
                         help="the drift reference moving more than this between the runs, or "
                         "spreading more than this within one, marks the machine disturbed: "
                         "speed verdicts withheld (default 0.15)")  # fmt: skip
    compare.add_argument("--strict", action="store_true",
                         help="a gate: exit 1 also when a cell is not comparable (missing from a "
                         "run, failed in the base, another recipe or seed) or the machine was "
                         "disturbed")  # fmt: skip
    compare.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    compare.add_argument("--allow-machine-change", action="store_true",
                         help="compare runs from different machines anyway")  # fmt: skip
    compare.add_argument("--no-drift-correction", action="store_true",
                         help="judge each cell's raw change, the machine's drift left in "
                         "(default: taken off, from the drift reference timed in every pass, "
                         "its own spread carried into each cell's interval, cross-checked with "
                         "the median change of the cells; the median alone when a run has no "
                         "reference)")  # fmt: skip
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

    cal = sub.add_parser("calibrate", help="measure this machine's matmul peak per library "
                         "and precision, and its memory bandwidth")  # fmt: skip
    cal.add_argument("--frameworks", type=csv_list, help="default: every installed one")
    cal.add_argument("--threads", type=positive_int, help="default: the usable cores")
    cal.add_argument("--device", choices=("cpu", "cuda", "auto"), default=None)
    cal.add_argument("--out", type=Path, default=None,
                     help="cache file (default results/calibration.json)")  # fmt: skip
    cal.add_argument("--precision", type=csv_list, default=None, help="fp32 (default), tf32 "
                     "(GPU), bf16, fp16, or several: each library's peak at each")  # fmt: skip

    gpu = sub.add_parser("gpu-check", help="the prepared check of a GPU host: environment, "
                         "calibration, priority-ordered cells with cut-offs, pytest -m gpu "
                         "(docs/gpu.md)")  # fmt: skip
    gpu.add_argument("out", type=Path, help="output folder (new or empty): results/, "
                     "index.html, summary.md, gpu-check.log")  # fmt: skip
    gpu.add_argument("--dry-run", action="store_true", help="rehearse on this CPU: the same "
                     "parts with tiny models (the gpu-check-dry suite)")  # fmt: skip
    gpu.add_argument("--budget", type=positive_float, default=None, help="seconds the parts' "
                     "cut-offs share (default 480 on a GPU, 600 in a dry run)")  # fmt: skip

    sub.add_parser("env", help="print this machine's environment as the runs record it")
    add_sweep_parser(sub)
    return parser
