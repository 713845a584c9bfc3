"""``bench list``: the frameworks (installed or not), models, datasets and suites."""

from __future__ import annotations

import argparse

from rich.console import Console

from bench.catalog import suites
from bench.catalog.frameworks import VARIANTS


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Frameworks")
    for col in ("name", "tier", "installed", "models", "what it is / how to install"):
        table.add_column(col)
    for v in VARIANTS.values():
        missing = v.missing()
        how = v.description if not missing else f"not installed: {v.install}"
        runs = "all" if v.pairs is None else ", ".join(f"{m} on {d}" for m, d in v.pairs)
        table.add_row(v.name, v.tier, "yes" if not missing else "no", runs, escape(how))
    console.print(table)
    models = Table(title="Models")
    for col in ("model", "datasets", "architecture"):
        models.add_column(col)
    for m in suites.MODEL_NAMES:
        ds = [d for d, ms in suites.MODELS_BY_DATASET.items() if m in ms]
        models.add_row(m, ", ".join(ds), suites.MODEL_DESCRIPTIONS[m])
    console.print(models)
    from bench.data import INFO

    datasets = Table(title="Datasets")
    for col in ("dataset", "source", "what it is"):
        datasets.add_column(col)
    source = {"bundled": "bundled", "synthetic": "synthetic", "files": "needs --data-dir"}
    for name, info in INFO.items():
        datasets.add_row(name, source[info.source], escape(info.description))
    console.print(datasets)
    suite_table = Table(title="Suites")
    for col in ("suite", "cells per framework", "recipe", "what it is for"):
        suite_table.add_column(col)
    for s in suites.SUITES.values():
        text = "; ".join(dict.fromkeys(
            f"{r.optimizer} lr {r.lr:g}, batch {r.batch_size}, {r.steps} steps"
            for r in (e.recipe for e in s.entries)))  # fmt: skip
        suite_table.add_row(s.name, str(len(s.pairs)), text, s.description)
    console.print(suite_table)
    return 0
