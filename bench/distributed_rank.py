"""Shim: ``python -m bench.distributed_rank`` is the rank entry point's old name, kept because
commands written before the move use it. The module is :mod:`bench.run.rank`."""

import sys

from bench.run.rank import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
