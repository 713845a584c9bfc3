"""Is `bench run`'s throughput what a continuous training loop pays? And what does idling cost?

For each framework and model this prints

* **continuous**: the suite's own worker (``bench.run.worker.Worker``, the code path of ``bench
  run``) training one cell in one process without a pause: back-to-back throughput windows of
  about a second, one device sync each (the ``window`` request), BLOCKS of them, after a
  warm-up. Its interval is a t interval over the blocks (log scale);
* **bench run**: the throughput figure and 95 % interval that ``python -m bench run`` reports
  for the same cell (fresh processes, timing passes, other frameworks running in between), for
  each of ``--repeats`` runs. The continuous loops are measured again after every run, and each
  run is compared with the blocks measured just before and just after it (pooled): on a shared
  machine whose speed drifts over minutes, a comparison with a loop measured an hour earlier
  would measure the drift;
* **ratio** bench/continuous with an interval (the two intervals combined on the log scale, as
  independent), which should contain 1 when the suite reports what a loop pays;
* **idle-gap penalty**: 50-step windows, each after ``time.sleep(gap)`` for gap 0, 20 ms,
  200 ms (30 rounds each), as the median window throughput relative to gap 0, and the first 5
  steps of a round (a 5-step window right after the gap) the same way.

Run from the project root (under 5 minutes on a quiet 2-core machine with the defaults):

    .venv/bin/python benchmarks/continuous.py [--frameworks torch,tf,keras]
        [--models mlp,cnn,resnet20:digits] [--dataset mnist1d] [--repeats 1] [--threads N]

Each cell trains with the recipe ``bench run`` gives it (the quick suite's, else the model's
own: momentum SGD for the ResNets) and the stock optimizer, as the timing passes do.

Timing figures depend on the machine; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import zoo  # noqa: E402
from bench.catalog import suites  # noqa: E402
from bench.measure import intervals  # noqa: E402
from bench.run.cells import group_inputs  # noqa: E402
from bench.run.pool import WorkerHandle  # noqa: E402
from bench.zoo.specs import Cell as BenchCell  # noqa: E402
from bench.zoo.specs import Recipe, Settings  # noqa: E402

GAPS = (0.0, 0.02, 0.2)
BLOCKS = 6  # continuous blocks of WINDOW_SECONDS
WINDOW_SECONDS = 1.0
GAP_ROUNDS = 30
GAP_STEPS = 50
FIRST_STEPS = 5


def cell_recipe(model: str, dataset: str, steps: int, eval_every: int) -> Recipe:
    """The recipe ``bench run --steps S --eval-every E`` gives this cell on a CPU (the quick
    suite's entry, else the model's own recipe: momentum SGD for the ResNets), so the
    continuous loop trains with the optimizer the bench run times."""
    recipe = suites.SUITES["quick"].entry(model, dataset).recipe_on("cpu")
    return replace(recipe, steps=steps, eval_every=min(eval_every, steps))


def parse_cells(models: str, dataset: str) -> list[tuple[str, str]]:
    """``mlp,cnn,resnet20:digits`` → (model, dataset) pairs; a model without ``:dataset`` runs
    on ``--dataset`` where it is declared there, else on its first declared dataset."""
    cells = []
    for item in models.split(","):
        model, _, on = item.partition(":")
        if not on:
            declared = list(zoo.get(model).variants)
            on = dataset if dataset in declared else declared[0]
        cells.append((model, on))
    return cells


def inputs(model: str, dataset: str, recipe: Recipe) -> dict[str, Any]:
    """What the runner sends a worker to build the cell: ``bench run``'s own message."""
    return group_inputs(BenchCell("", model, dataset, "continuous", recipe))[1]


class Cell:
    """One cell built in a suite worker; ``window(n)`` runs the next n steps as one window."""

    def __init__(self, worker: WorkerHandle, msg: dict[str, Any]) -> None:
        self.worker = worker
        self.worker.request({"op": "build", **msg, "stock": True}, None)
        self.step = 0

    def window(self, n: int) -> float:
        reply = self.worker.request({"op": "window", "start": self.step, "stop": self.step + n},
                                    None)  # fmt: skip
        self.step += n
        return float(reply["seconds"])


def continuous(cell: Cell, batch: int) -> np.ndarray:
    """Back-to-back windows: the throughput of each block of a loop that never pauses."""
    cell.window(50)  # warm-up: tracing, allocator growth
    per_step = cell.window(20) / 20
    n = max(int(WINDOW_SECONDS / per_step), 20)
    return np.array([batch * n / cell.window(n) for _ in range(BLOCKS)])


def summary(rates: np.ndarray) -> dict[str, float]:
    """Centre and 95 % interval of block throughputs (a t interval on the log scale)."""
    centre, lo, hi = intervals.log_mean_ci(rates)
    return {"median": centre, "ci_low": lo, "ci_high": hi}


def idle_gaps(cell: Cell, batch: int, n_rounds: int) -> dict[str, dict[str, float]]:
    """Median throughput of GAP_STEPS-step windows after each gap, and of the first steps."""
    out = {}
    for gap in GAPS:
        rounds, firsts = [], []
        for _ in range(n_rounds):
            time.sleep(gap)
            first = cell.window(FIRST_STEPS)
            rest = cell.window(GAP_STEPS - FIRST_STEPS)
            rounds.append(batch * GAP_STEPS / (first + rest))
            firsts.append(batch * FIRST_STEPS / first)
        out[f"{gap * 1000:g} ms"] = {"round": float(np.median(rounds)),
                                     "first": float(np.median(firsts))}  # fmt: skip
    return out


def in_process(frameworks: list[str], cells: list[tuple[str, str]], recipes: dict, threads: int,
               gap_rounds: int) -> dict[tuple[str, str], dict[str, Any]]:  # fmt: skip
    """Per (framework, cell): the continuous blocks, and the idle-gap figures unless
    ``gap_rounds`` is 0. One worker per framework, as a bench run's group."""
    settings = Settings(threads=threads, interop_threads=1).to_dict()
    msgs = {c: inputs(*c, recipes[c]) for c in cells}
    out = {}
    for fw in frameworks:
        worker = WorkerHandle(fw, settings, 600.0, None)
        try:
            for c in cells:
                cell = Cell(worker, msgs[c])
                batch = recipes[c].batch_size
                res: dict[str, Any] = {"blocks": continuous(cell, batch)}
                if gap_rounds:
                    res["gaps"] = idle_gaps(cell, batch, gap_rounds)
                    print_in_process(fw, label(c), res)
                out[fw, label(c)] = res
        finally:
            worker.close()
    return out


def beside(measured: list[dict], k: int, key: tuple[str, str]) -> dict[str, float]:
    """The continuous figure for bench run ``k`` (0-based): the blocks measured just before it
    and just after it, pooled."""
    return summary(np.concatenate([measured[k][key]["blocks"], measured[k + 1][key]["blocks"]]))


def label(cell: tuple[str, str]) -> str:
    return f"{cell[0]}:{cell[1]}"


Figures = dict[tuple[str, str], dict[str, float]]


def bench_run(frameworks: list[str], cells: list[tuple[str, str]], threads: int, passes: int,
              pass_seconds: float, steps: int, eval_every: int) -> Figures:  # fmt: skip
    """One `python -m bench run` per dataset over the same cells; their throughput figures."""
    out = {}
    for dataset in dict.fromkeys(d for _, d in cells):
        models = [m for m, d in cells if d == dataset]
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "bench", "run", "--frameworks", ",".join(frameworks),
                   "--models", ",".join(models), "--dataset", dataset, "--steps", str(steps),
                   "--eval-every", str(eval_every), "--threads", str(threads),
                   "--timing-passes", str(passes), "--pass-seconds", str(pass_seconds),
                   "--no-report", "--no-calibrate", "--out", tmp,
                   "--history", os.path.join(tmp, "h.sqlite")]  # fmt: skip
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            done = subprocess.run(cmd, cwd=ROOT, env=env, check=False, capture_output=True)
            if done.returncode not in (0, 1):
                print(f"bench run on {dataset} exited {done.returncode}: "
                      f"{done.stderr.decode()[-300:]}", flush=True)  # fmt: skip
            for path in Path(tmp).glob("*/results.jsonl"):
                for line in path.read_text().splitlines():
                    r = json.loads(line)
                    if r.get("throughput"):
                        out[r["framework"], f"{r['model']}:{r['dataset']}"] = r["throughput"]
    return out


def ratio(bench: dict[str, float], cont: dict[str, float]) -> tuple[float, float, float]:
    """bench/continuous, its interval from both relative half-widths (log scale, in quadrature)."""
    r = bench["median"] / cont["median"]
    hb = math.log(bench["ci_high"] / bench["ci_low"]) / 2
    hc = math.log(cont["ci_high"] / cont["ci_low"]) / 2
    h = math.hypot(hb, hc)
    return r, r * math.exp(-h), r * math.exp(h)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frameworks", default="torch,tf,keras")
    ap.add_argument(
        "--models",
        default="mlp,cnn",
        help="models, each optionally model:dataset, e.g. mlp,cnn,resnet20:digits",
    )
    ap.add_argument("--dataset", default="mnist1d")
    ap.add_argument("--repeats", type=int, default=1, help="bench run repetitions")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--pass-seconds", type=float, default=2.0)
    ap.add_argument("--steps", type=int, default=300, help="bench run's training steps")
    ap.add_argument("--gap-rounds", type=int, default=GAP_ROUNDS, help="rounds per idle gap")
    args = ap.parse_args()  # fmt: skip
    frameworks, cells = args.frameworks.split(","), parse_cells(args.models, args.dataset)
    recipes = {c: cell_recipe(*c, args.steps, 50) for c in cells}
    t0 = time.perf_counter()
    measured = [in_process(frameworks, cells, recipes, args.threads, args.gap_rounds)]
    runs = []
    for _ in range(args.repeats):
        runs.append(bench_run(frameworks, cells, args.threads, args.passes, args.pass_seconds,
                              args.steps, 50))  # fmt: skip
        measured.append(in_process(frameworks, cells, recipes, args.threads, 0))
    print(f"{args.threads} threads, {args.repeats} bench run(s) of {args.passes} passes x "
          f"{args.pass_seconds:g} s; samples/s [95% interval]; each run against the continuous "
          "blocks just before and after it", flush=True)  # fmt: skip
    for fw, m in measured[0]:
        for k, run in enumerate(runs):
            c, b = beside(measured, k, (fw, m)), run.get((fw, m))
            if b is None:
                print(f"{fw:>6} {m:<17} bench run {k + 1}: no figure (cell failed?)")
                continue
            r, lo, hi = ratio(b, c)
            print(f"{fw:>6} {m:<17} run {k + 1}: continuous {c['median']:>9,.0f} "
                  f"[{c['ci_low']:,.0f}-{c['ci_high']:,.0f}]  bench run {b['median']:>9,.0f} "
                  f"[{b['ci_low']:,.0f}-{b['ci_high']:,.0f}]  ratio {r:.3f} "
                  f"[{lo:.3f}-{hi:.3f}]")  # fmt: skip
    print_rankings(measured, runs, frameworks, [label(c) for c in cells])
    print(f"wall time {time.perf_counter() - t0:.0f} s")


def print_rankings(measured: list[dict], runs: list[Figures], frameworks: list[str],
                   models: list[str]) -> None:  # fmt: skip
    """(A/B ratio that bench run reports) / (A/B ratio of the continuous loops beside it): 1
    when the suite ranks two frameworks as continuous loops do; interval from the four,
    independent."""
    a = frameworks[0]
    for m in models:
        for b in frameworks[1:]:
            for k, run in enumerate(runs):
                if not all(key in run and key in measured[0] for key in ((a, m), (b, m))):
                    continue
                ra = ratio(run[a, m], beside(measured, k, (a, m)))
                rb = ratio(run[b, m], beside(measured, k, (b, m)))
                r = ra[0] / rb[0]
                h = math.hypot(math.log(ra[2] / ra[1]) / 2, math.log(rb[2] / rb[1]) / 2)
                print(f"{m}: ({a}/{b} in bench run {k + 1}) / ({a}/{b} continuous) = {r:.3f} "
                      f"[{r * math.exp(-h):.3f}-{r * math.exp(h):.3f}]")  # fmt: skip


def print_in_process(fw: str, m: str, res: dict[str, Any]) -> None:
    """One cell's in-process figures, printed as soon as they are measured."""
    c, base = summary(res["blocks"]), res["gaps"]["0 ms"]
    gaps = "  ".join(
        f"{g}: round {v['round'] / base['round']:.2f}, first {FIRST_STEPS} "
        f"{v['first'] / base['round']:.2f}"
        for g, v in res["gaps"].items()
    )
    print(f"{fw:>6} {m:<9} continuous {c['median']:,.0f} [{c['ci_low']:,.0f}-{c['ci_high']:,.0f}]"
          f"; idle gap (x gap-0 round {base['round']:,.0f}/s): {gaps}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
