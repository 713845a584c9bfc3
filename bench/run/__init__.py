"""Running cells: planning (suite + options → cells), the runner and its worker processes, the
data-parallel launcher and its rank entry point, the adapter protocol, records, the results
store and the console progress.

Below the report, the history and the command line; above :mod:`bench.measure`.
"""
