"""One cells part of the GPU check, in its own process: ``python -m bench.run.gpu_part CONFIG``.

The check (``bench gpu-check``) starts each part as a process of its own session, so that at the
part's cut-off the whole part (this process and its framework workers) can be stopped at once,
and every cell it finished is already on disk: the runner writes each record the moment the
cell finishes (:mod:`bench.run.store`). This module plans the part's cells
(:func:`bench.run.plan.plan_cells`, as ``bench run`` does), writes the run directory's env.json
and runs the ordinary :class:`bench.run.runner.Runner` on them, with the timing options of the
check (:data:`OPTIONS`): nothing here measures differently from ``bench run``.

CONFIG is a JSON file: {"suite", "frameworks", "models", "precision", "device", "mode", "run_dir",
"tag", "calibration", "options"}; "options" overrides :data:`OPTIONS` (RunOptions fields).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.measure import environment
from bench.run.options import RunOptions
from bench.run.plan import PlanRequest, plan_cells
from bench.run.progress import make_reporter, results_table
from bench.run.runner import Runner
from bench.run.store import RunDir
from bench.zoo.specs import Settings

#: The runner's options per mode. On the GPU: the defaults but one timing pass of 3 s of
#: windows (:data:`bench.run.gpu_plan.TIMING`). The dry run's models are tiny and its CPU slow,
#: so its counts are cut to what exercises each step once or twice, and a framework's training
#: cells share one worker (its timing pass still starts one per cell): it checks the code
#: path, not a figure.
OPTIONS: dict[str, dict[str, Any]] = {
    "gpu": {"timing_passes": 1, "pass_seconds": 3.0},
    "dry": {
        "timing_passes": 1, "pass_seconds": 0.5, "window_seconds": 0.25, "cold_steps": 2,
        "latency_steps": 5, "latency_calls": 20, "inference_batch": 8, "eval_batch_size": 64,
        "fresh_worker": False,
    },
}  # fmt: skip
#: Intra-op threads per worker: every core on the GPU host; one in the dry run, whose 2-core
#: machine runs a group's workers side by side (two spinning thread pools on 2 shared cores
#: slowed torch's steps tenfold there).
THREADS = {"gpu": None, "dry": 1}


def run_part(config: dict[str, Any], console: Console) -> int:
    """Plan and run the part's cells into ``config["run_dir"]``; 0 when every cell is ok."""
    request = PlanRequest(
        suite=config["suite"], frameworks=list(config["frameworks"]),
        models=list(config["models"]), precision=[config["precision"]],
        device=config["device"],
    )  # fmt: skip
    cells = plan_cells(request, lambda message: console.print(message, markup=False))
    threads = THREADS[config["mode"]] or environment.usable_cores()
    settings = Settings(device=config["device"], threads=threads, interop_threads=1,
                        precision=cells[0].precision)  # fmt: skip
    options = RunOptions(**{**OPTIONS[config["mode"]], **config.get("options", {})})
    run_path = Path(config["run_dir"])
    env = {
        "run_id": run_path.name,
        "tag": config.get("tag"),
        "suite": config["suite"],
        "settings": settings.to_dict(),
        "timing": {
            "passes": options.timing_passes,
            "pass_seconds": options.pass_seconds,
            "loop_steps": 0,
            "fresh_worker": options.fresh_worker,
        },
        "plan": [c.to_dict() for c in cells],
        "data_dir": None,
        "argv": ["gpu-check", "part", config.get("tag") or ""],
        "calibration": config.get("calibration"),
        **environment.capture(),
    }
    run_dir = RunDir.create(run_path, env)
    console.print(f"{len(cells)} cells, {threads} threads, device {settings.device} → "
                  f"{run_dir.path}", markup=False)  # fmt: skip
    Runner(run_dir, settings, options, make_reporter(console)).run(cells)
    records = list(run_dir.latest_by_key().values())
    console.print(results_table(records))
    return 0 if records and all(r["status"] == "ok" for r in records) else 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    config = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    return run_part(config, Console(highlight=False, width=150))


if __name__ == "__main__":
    raise SystemExit(main())
