"""``python -m bench``: the command line, one module per command (``run``, ``list``, ``report``,
``compare``, ``history``, ``calibrate``, ``env``), the parser and the shared argument types apart.

It parses, calls the library and prints; planning is :mod:`bench.run.plan`. Every usage error is
one line on stderr and exit status 2; nothing on disk changes before the input has been checked.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console

from bench.cli.args import EXIT_USAGE, UsageError
from bench.cli.calibrate import cmd_calibrate
from bench.cli.compare import cmd_compare
from bench.cli.env import cmd_env
from bench.cli.gpu_check import cmd_gpu_check
from bench.cli.history import cmd_history
from bench.cli.list import cmd_list
from bench.cli.parser import build_parser
from bench.cli.report import cmd_report
from bench.cli.run import cmd_run
from bench.cli.sweep import cmd_sweep
from bench.run.plan import PlanError
from bench.run.results import SchemaError

# -- argument types ------------------------------------------------------------------------


# -- the parser ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    # Logs and CI get wide tables; a terminal gets its own width.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
    try:
        args = build_parser().parse_args(argv)
        command = {
            "run": cmd_run, "list": cmd_list, "report": cmd_report, "env": cmd_env,
            "compare": cmd_compare, "calibrate": cmd_calibrate, "history": cmd_history,
            "gpu-check": cmd_gpu_check,
            "sweep": cmd_sweep,
        }  # fmt: skip
        return command[args.command](args, console)
    except (UsageError, PlanError, SchemaError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)  # one line, never wrapped
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("bench: interrupted; finished cells are saved (finish with --resume RUN_DIR)",
              file=sys.stderr)  # fmt: skip
        return 130


# -- run ---------------------------------------------------------------------------------------


# -- list, report, env -------------------------------------------------------------------------
