"""Build a run's HTML report from its files: one self-contained page, no network, no re-run.

The pieces (tables, ratios, fairness, environment, figures) are computed by their own modules
from the same :class:`~bench.report.cells.Run`; this module only gathers them and writes the
page atomically, so a reader never opens a half-written report.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.report import envinfo, precision_view, tables
from bench.report.cells import Run, get, load_run
from bench.report.fairness import fairness
from bench.report.figures import figures, framework_colors
from bench.report.ratios import speed_ratios
from bench.report.render import render
from bench.report.scaling import scaling

INDEX = "index.html"


def _precision(run: Run) -> dict[str, Any]:
    kinds, ops = precision_view.op_dtype_rows(run)
    return {
        "rows": precision_view.precision_rows(run),
        "kinds": kinds,
        "ops": ops,
        "differing": precision_view.differing_ops(run),
    }


def build_report(run_dir: Path, out_dir: Path) -> Path:
    """Write ``out_dir/index.html`` for the run in ``run_dir`` and return its path."""
    run = load_run(Path(run_dir))
    numbers = tables.numbers(run)
    colors = framework_colors(run.frameworks())
    html = render(
        "report.html",
        {
            "header": envinfo.header(run),
            "counts": tables.counts(run),
            "frameworks": run.frameworks(),
            "colors": colors,
            "groups": tables.summary(run),
            "ratios": speed_ratios(run),
            "precision": _precision(run),
            "figures": figures(run, numbers, colors),
            "fairness": fairness(run),
            "scaling": scaling(run.records),  # --workers runs only
            "environment": envinfo.environment_rows(run.env),
            "calibrated": bool(numbers["peak_gflops"].notna().any()),
            "inference_batch": next(
                (b for r in run.records if (b := get(r, "inference", "large_batch", "batch_size"))),
                "N",
            ),
            "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{INDEX}.tmp"
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out / INDEX)
    return out / INDEX
