"""One rank of a data-parallel cell: ``python -m bench.run.rank JOB RANK WORLD PORTS OUT``.

Started N times by :mod:`bench.run.distributed` (or by hand on each machine, see
docs/distributed.md). It imports its framework (only here, and only in this process), joins the
framework's own process group / strategy through ``models/<family>/distributed.py``, and trains this
rank's slice of every global batch: rank k takes columns ``k*b .. (k+1)*b`` of the global batch
order, so N ranks see the same samples in the same steps as one process with the whole batch.

Files it writes in OUT (the parent reads them; nothing travels over a pipe, so a rank that dies
leaves the others' files intact): ``rank<k>.ready`` once the rendezvous completed,
``rank<k>.json`` with its figures at the end, ``rank<k>.weights.npz`` when the job asks for the
final weights (parity tests).

The job file is arrays and JSON, never a pickle (:mod:`bench.run.job_file`): a file that is not
a job, is damaged, is an old pickle ``job.pkl`` or another format version is one line on stderr
(``bench.run.rank: error: JOB: ...``) and exit status 2, before anything is written to OUT.
"""

from __future__ import annotations

import faulthandler
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.run.job_file import JobFileError, read_job, write_job

#: exit status for a bad job file (a usage error, as the ``bench`` command line's)
EXIT_USAGE = 2


def local_order(order: np.ndarray, rank: int, world: int) -> np.ndarray:
    """This rank's columns of the global batch order (steps, global batch)."""
    global_batch = order.shape[1]
    if global_batch % world:
        raise ValueError(f"global batch {global_batch} does not split over {world} workers")
    b = global_batch // world
    return order[:, rank * b : (rank + 1) * b]


def window_plan(per_step_s: float, job: dict[str, Any]) -> tuple[int, int]:
    """(steps per window, windows) from the agreed per-step time: the same on every rank."""
    steps = int(min(max(job["window_seconds"] / max(per_step_s, 1e-6), 5), 100_000))
    windows = int(min(max(math.ceil(job["pass_seconds"] / job["window_seconds"]), 2), 50))
    return steps, windows


def run(job: dict[str, Any], rank: int, world: int, ports: list[int], out: Path) -> dict[str, Any]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from bench import data
    from bench.catalog.frameworks import framework_module, get_variant
    from bench.measure import memory
    from bench.run.adapter import load_adapter
    from bench.zoo.specs import ModelSpec, Recipe, Settings

    variant = get_variant(job["framework"])
    t0 = time.perf_counter()
    fw = framework_module(variant.family, "distributed", variant.env)
    address = job.get("address", "127.0.0.1")
    if hasattr(fw, "prepare"):  # TF: TF_CONFIG is read before the framework configures itself
        fw.prepare(rank, world, address, ports)
    adapter = load_adapter(variant)
    settings, timeout = Settings.from_dict(job["settings"]), job["rendezvous_timeout"]
    if hasattr(fw, "configure"):  # Keras: the strategy must exist before Keras's own probes
        manifest, engine = fw.configure(adapter, settings, rank, world, address, ports, timeout)
    else:
        manifest = adapter.configure(settings)
        engine = fw.init(rank, world, address, ports, timeout)
    rendezvous_s = time.perf_counter() - t0
    (out / f"rank{rank}.ready").write_text(str(os.getpid()))

    spec, recipe = ModelSpec.from_dict(job["spec"]), Recipe.from_dict(job["recipe"])
    order = local_order(job["order"], rank, world)
    x_train, y_train = job["x_train"], job["y_train"]

    def batches(start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        idx = order[np.arange(start, stop) % len(order)]
        x = x_train[idx]
        if job.get("augment"):  # seeded per global step and sample: every rank's own slice
            x_all = x_train[job["order"][np.arange(start, stop) % len(order)]]
            b = idx.shape[1]
            x = data.augment_round(x_all, start, **job["augment"])[:, rank * b : (rank + 1) * b]
        return x, y_train[idx]

    t_build = time.perf_counter()
    model = fw.build(adapter, spec, job["weights"], recipe, job["lr"])
    result: dict[str, Any] = {
        "rank": rank,
        "world": world,
        "pid": os.getpid(),
        "engine": engine,
        "manifest": manifest,
        "rendezvous_s": rendezvous_s,
        "build_seconds": time.perf_counter() - t_build,
        "curve": [],
        "losses": [],
        "round_sizes": [],
        "train_seconds": 0.0,
    }
    step = 0
    train_steps = int(job.get("train_steps", 0))
    eval_every = max(int(job.get("eval_every") or train_steps or 1), 1)
    while step < train_steps:  # training: rounds of eval_every steps, evaluated between rounds
        stop = min(step + eval_every, train_steps)
        seconds, losses = fw.train_window(adapter, model, *batches(step, stop))
        result["train_seconds"] += seconds
        result["losses"].extend(float(v) for v in losses)
        result["round_sizes"].append(stop - step)
        step = stop
        if job.get("evaluate", True):
            loss, acc = fw.evaluate(adapter, model, job["x_test"], job["y_test"], 1000)
            result["curve"].append(
                {
                    "step": step,
                    "train_seconds": result["train_seconds"],
                    "train_loss": fw.agree_mean(float(np.mean(losses))),
                    "test_loss": loss,
                    "test_accuracy": acc,
                }
            )
    if job.get("dump_weights"):
        np.savez(out / f"rank{rank}.weights.npz", **fw.weights(adapter, model))

    if job.get("timing"):  # one timing pass: warm-up, then throughput windows
        warm = max(int(recipe.warmup_steps), 1)
        fw.train_window(adapter, model, *batches(step, step + warm))  # traced, allocator grown
        step += warm
        seconds, _ = fw.train_window(adapter, model, *batches(step, step + warm))
        step += warm
        n, windows = window_plan(fw.agree_mean(seconds / warm), job)
        result["window_steps"], result["window_seconds"] = [], []
        for _ in range(windows):
            seconds, _ = fw.train_window(adapter, model, *batches(step, step + n))
            step += n
            result["window_steps"].append(n)
            result["window_seconds"].append(seconds)
    if job.get("allreduce_floats") and world > 1:
        result["allreduce_s"] = fw.allreduce_times(int(job["allreduce_floats"]), 20)
    result["peak_rss_bytes"] = memory.peak_rss()  # the highest of a rank's life, import included
    fw.shutdown()  # a last collective: no rank leaves while a peer still needs it
    return result


USAGE = """usage:
  python -m bench.run.rank JOB RANK WORLD PORTS OUT   (as bench run --workers starts it)
  python -m bench.run.rank JOB OUT                    (under torchrun, or with TF_CONFIG)
  python -m bench.run.rank make-job --framework F --model M --dataset D --workers N
      [--suite S] [--scaling weak|strong] [--steps K] [--seed K] [--threads K]
      [--pass-seconds S] [--address HOST] JOB

JOB is a job file (job.npz) that make-job writes: the same bytes on every node for the same
arguments."""


def from_environment() -> tuple[int, int, str, list[int]]:
    """(rank, world, address, ports) from the frameworks' own launch conventions: TF_CONFIG
    (tf.distribute) or torchrun's RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT."""
    if "TF_CONFIG" in os.environ:
        config = json.loads(os.environ["TF_CONFIG"])
        workers = config["cluster"]["worker"]
        ports = [int(w.rsplit(":", 1)[1]) for w in workers]
        return int(config["task"]["index"]), len(workers), workers[0].rsplit(":", 1)[0], ports
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        port = int(os.environ.get("MASTER_PORT", "29500"))
        address = os.environ.get("MASTER_ADDR", "127.0.0.1")
        return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), address, [port]
    raise ValueError("JOB OUT needs TF_CONFIG or torchrun's RANK/WORLD_SIZE in the environment")


def make_job(argv: list[str]) -> int:
    """Write a job file: the same on every machine (weights, data and batch order all come
    from the seed), so each node can make its own instead of copying one."""
    import argparse
    import dataclasses

    from bench.catalog import suites
    from bench.catalog.architectures import param_count
    from bench.run.distributed import rank_job, scaled_cell
    from bench.zoo.specs import Cell, Settings

    parser = argparse.ArgumentParser(prog="python -m bench.run.rank make-job")
    parser.add_argument("--framework", required=True, choices=("torch", "tf", "keras"))
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--suite", default="quick")
    parser.add_argument("--scaling", choices=("weak", "strong"), default="weak")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pass-seconds", type=float, default=5.0, help="0: no timing pass")
    parser.add_argument("--address", default="127.0.0.1", help="rank 0's host (torch's store)")
    parser.add_argument("job", type=Path)
    args = parser.parse_args(argv)
    if args.suite not in suites.SUITES:
        return _error(f"unknown suite {args.suite!r} (one of {', '.join(suites.SUITES)})")
    try:
        entry = suites.SUITES[args.suite].entry(args.model, args.dataset)
    except (KeyError, ValueError) as exc:  # an unknown model or dataset: say which
        return _error(f"make-job: {exc.args[0] if exc.args else exc}")
    recipe = entry.recipe_on("cpu")
    if args.steps:
        recipe = dataclasses.replace(recipe, steps=args.steps)
    cell = Cell(args.framework, args.model, args.dataset, args.suite, recipe, args.seed)
    scaled = scaled_cell(cell, args.workers, args.scaling)
    job = rank_job(scaled, Settings(threads=args.threads))
    spec = suites.model_spec(args.model, args.dataset, suite=args.suite)
    job.update(
        train_steps=scaled.recipe.steps, eval_every=scaled.recipe.eval_every,
        timing=args.pass_seconds > 0, window_seconds=min(1.0, args.pass_seconds / 2),
        pass_seconds=args.pass_seconds, allreduce_floats=param_count(spec),
        rendezvous_timeout=300.0, address=args.address,
    )  # fmt: skip
    try:
        write_job(args.job, job)
    except OSError as exc:
        return _error(f"{args.job}: cannot write the job file: {exc.strerror or exc}")
    return 0


def _error(message: str) -> int:
    print(f"bench.run.rank: error: {message}", file=sys.stderr)  # one line, no traceback
    return EXIT_USAGE


def main(argv: list[str]) -> int:
    if argv[:1] == ["make-job"]:
        return make_job(argv[1:])
    if len(argv) not in (2, 5):
        print(USAGE, file=sys.stderr)
        return EXIT_USAGE
    try:
        job = read_job(Path(argv[0]))  # checked before anything is written to OUT
    except JobFileError as exc:
        return _error(str(exc))
    try:
        if len(argv) == 2:
            _, out = argv
            rank, world, address, ports = from_environment()
        else:
            _, rank_text, world_text, ports_text, out = argv
            rank, world, address = int(rank_text), int(world_text), ""
            ports = [int(p) for p in ports_text.split(",")]
    except (ValueError, KeyError, IndexError, TypeError) as exc:  # RANK WORLD PORTS, TF_CONFIG
        what = str(exc) if isinstance(exc, ValueError) else f"TF_CONFIG has no {exc}"
        return _error(f"cannot tell this rank's place: {what}"[:300])
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if address:
        job["address"] = address
    if job.get("stack_dump_after"):  # a hung rank's stacks land in its log (debugging)
        faulthandler.dump_traceback_later(float(job["stack_dump_after"]), exit=False)
    result = run(job, rank, world, ports, out_dir)
    tmp = out_dir / f"rank{rank}.json.tmp"
    tmp.write_text(json.dumps(result))
    tmp.replace(out_dir / f"rank{rank}.json")  # whole or absent: the parent never reads half
    sys.stdout.flush()
    sys.stderr.flush()
    # Exit without running destructors: freeing a DDP reducer or a collective executor at
    # interpreter exit can block on a peer that has already gone (seen with gloo: 3 of 4 runs).
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
