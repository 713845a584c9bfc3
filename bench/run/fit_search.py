"""The largest batch that fits a memory budget: doubling, then bisection, each try a throughput
point of one pass in its own fresh worker (:class:`bench.run.sweep_runner.SweepRunner`).

A try fits when its memory figure (the training-steps peak above the framework's post-import
baseline, :mod:`bench.measure.memory`; on an accelerator the allocator's peak) is within the
budget. It does not fit when the figure is over it, when the framework raises its own
out-of-memory error (``torch.OutOfMemoryError``, ``tf.errors.ResourceExhaustedError``, JAX's
``RESOURCE_EXHAUSTED``), or when the :class:`MemoryWatcher` stopped it: on a CPU a worker whose
resident set passes its baseline plus the budget plus a margin is killed at once, so a try never
swaps the machine or brings the kernel's OOM killer to the runner. A try ends with its memory
sample (no windows after it), so a stopped try was stopped inside its figure's own steps, and
the watcher's reading above its baseline is a lower bound of that figure, over the budget: the
first batch that did not fit is confirmed by its own fresh worker's reading either way. The
search goes on after every such try and says which batch first did not fit.
"""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from typing import Any

import psutil

from bench.measure import memory
from bench.run.plan import PlanError
from bench.run.sweep_plan import point_steps
from bench.zoo.specs import Cell

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9,
          "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip
_OOM = re.compile(r"OutOfMemoryError|ResourceExhaustedError|RESOURCE_EXHAUSTED|out of memory", re.I)


def parse_size(text: str) -> int:
    """``"4GiB"`` → 4294967296; ``"512MB"``, ``"1.5G"``, plain bytes. One-line error otherwise."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _UNITS or float(m.group(1)) <= 0:
        raise PlanError(f"--memory-budget: {text!r} is not a size (e.g. 4GiB, 512MiB, 2GB)")
    return int(float(m.group(1)) * _UNITS[unit])


def check_budget(budget: int, frameworks: list[str]) -> None:
    """Refuse a budget below every framework's post-import baseline before anything runs: a
    worker imports what this process has (NumPy, SciPy, the bench) and a framework on top, so
    its baseline is above this process's resident set, measured here. (Each framework's own
    baseline, read when its worker starts, is compared again in the search.)"""
    floor = memory.current_rss()
    if budget < floor:
        raise PlanError(
            f"--memory-budget {budget / 2**20:.1f} MiB is below the post-import "
            f"baseline of {', '.join(frameworks)} (more than the "
            f"{floor / 2**20:.0f} MiB this process holds before importing any)"
        )


class MemoryWatcher:
    """Stops (SIGKILL) any worker whose RSS passes its baseline + budget + margin, polling every
    ``interval`` seconds on a thread; ``killed`` maps pid → the RSS it was stopped at."""

    def __init__(self, workers: Any, budget: int, margin: int | None = None,
                 interval: float = 0.05) -> None:  # fmt: skip
        self.workers = workers  # a CellWorkers: its live handles are read at each poll
        self.budget = budget
        self.margin = margin if margin is not None else max(32 * 2**20, budget // 20)
        self.interval = interval
        self.killed: dict[int, int] = {}
        self.above_baseline: dict[int, int] = {}  # pid → its RSS above its baseline when stopped
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-watcher", daemon=True)

    def __enter__(self) -> MemoryWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def limit(self, baseline: int) -> int:
        return baseline + self.budget + self.margin

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for handle in list(self.workers.handles.values()):
                baseline = (handle.hello or {}).get("baseline_rss_bytes")
                if handle.pid is None or baseline is None:
                    continue  # still importing: its baseline is not known yet
                try:
                    rss = psutil.Process(handle.pid).memory_info().rss
                except psutil.Error:
                    continue
                if rss > self.limit(int(baseline)):
                    self.killed[handle.pid] = int(rss)
                    self.above_baseline[handle.pid] = int(rss) - int(baseline)
                    handle.process.kill()


def try_outcome(
    record: dict[str, Any],
    budget: int,
    killed: dict[int, int],
    above_baseline: dict[int, int] | None = None,
) -> dict[str, Any]:
    """One try's verdict: fits / does not fit, the figure it stands on, and why.

    A try stopped by the watcher stands on the watcher's own reading of its fresh worker: the
    resident set above that worker's baseline when it was stopped, a lower bound of the try's
    figure (a try ends with its memory sample, so the watcher can only stop it while the
    figure's own build and warm-up steps run: :func:`largest_batch`); ``bytes`` holds it and
    ``lower_bound`` says so."""
    batch = record["sweep"]["batch_size"]
    figure = memory.gated_figure(record) if record.get("timing_passes") else None
    notes = " ".join(record.get("timing_notes") or []) + " " + str(record.get("error") or "")
    pids = {p.get("worker_pid") for p in record.get("timing_passes") or []}
    stopped = [pid for pid in killed if pid in pids or str(pid) in notes]
    if stopped or ("SIGKILL" in notes and killed):
        pid = max(stopped or killed, key=lambda k: killed[k])
        above = (above_baseline or {}).get(pid)
        why = f"stopped by the watcher at {killed[pid] / 2**20:.0f} MiB resident"
        if above is not None:
            why += f", at least {above / 2**20:.0f} MiB above its baseline: over the budget"
        return {"batch": batch, "fits": False, "bytes": above, "lower_bound": above is not None,
                "why": why}  # fmt: skip
    if _OOM.search(notes):
        return {"batch": batch, "fits": False, "bytes": None, "why": "out of memory"}
    if figure is None:  # no verdict on memory: the search stops here (see largest_batch)
        return {"batch": batch, "fits": None, "bytes": None,
                "why": f"no memory figure ({notes.strip() or 'no timed pass'})"}  # fmt: skip
    fits = figure["bytes"] <= budget
    over = f"{figure['bytes'] / 2**20:.1f} MiB, over the budget"
    return {"batch": batch, "fits": fits, "bytes": figure["bytes"], "why": "" if fits else over}


def next_batch(tries: list[dict[str, Any]], n_train: int, resolution: float = 0.125) -> int | None:
    """Doubling from the first try until a batch does not fit (or the training set is
    reached), then bisection between the largest that fits and the smallest that does not,
    down to ``resolution`` of the former; None when done."""
    fit = [t["batch"] for t in tries if t["fits"] is True]
    not_fit = [t["batch"] for t in tries if t["fits"] is False]
    lo, hi = max(fit, default=None), min(not_fit, default=None)
    if hi is None:
        if lo is None or lo >= n_train:
            return None
        return min(2 * lo, n_train)
    if lo is None:
        return hi // 2 if hi > 1 else None
    if hi - lo <= max(1, int(lo * resolution)):
        return None
    return (lo + hi) // 2


def point_at(cell: Cell, batch: int, n_train: int) -> Cell:
    """``cell`` (a throughput point) at another batch size."""
    steps = point_steps(n_train, batch)
    recipe = replace(cell.recipe, batch_size=batch, steps=steps, eval_every=steps)
    return replace(cell, recipe=recipe)


#: At most this many tries per framework and model (doubling from 8 to 4,096 is 10 tries).
MAX_TRIES = 16


def largest_batch(
    run_dir: Any, settings: Any, options: Any, reporter: Any, cell: Cell, budget: int,
    n_train: int, start: int, margin: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Search ``cell``'s model and framework for the largest batch within ``budget``; each try
    one pass in a fresh worker under a :class:`MemoryWatcher`, its record kept in ``run_dir``
    (a run directory of its own: a try at batch B is not the sweep's point B)."""
    from bench.run.sweep_runner import SweepRunner, sweep_options

    # one pass that ends with its memory sample (build + warm-up steps): no stretch after it,
    # so whatever the watcher sees happens inside the figure's own steps
    opts = replace(sweep_options(options), timing_passes=1, pass_seconds=0.01, pass_min_windows=1)
    tries: list[dict[str, Any]] = []
    batch: int | None = min(start, n_train)
    baseline = None
    while batch is not None and len(tries) < MAX_TRIES:
        runner = SweepRunner(run_dir, settings, opts, reporter, memory_only=True)
        with MemoryWatcher(runner.workers, budget, margin) as watcher:
            record = runner.run([point_at(cell, batch, n_train)])[0]
        outcome = try_outcome(record, budget, watcher.killed, watcher.above_baseline)
        passes = record.get("timing_passes") or []
        outcome["worker_pids"] = sorted({p.get("worker_pid") for p in passes} - {None}
                                        | set(watcher.killed))  # fmt: skip
        baseline = baseline or next((p["memory"].get("baseline_bytes") for p in passes
                                     if p.get("memory")), None)  # fmt: skip
        tries.append(outcome)
        verdict = {True: "fits", False: "does not fit", None: "no verdict"}[outcome["fits"]]
        reporter.note(f"  {cell.framework} {cell.model} batch {batch}: {verdict}"
                      f"{' (' + outcome['why'] + ')' if outcome['why'] else ''}")  # fmt: skip
        if outcome["fits"] is None:
            break  # the try failed for another reason than memory: not a verdict on the batch
        batch = next_batch(tries, n_train)
    fit = [t for t in tries if t["fits"] is True]
    not_fit = [t for t in tries if t["fits"] is False]
    best = max(fit, key=lambda t: t["batch"], default=None)
    first_not = min((t for t in not_fit if best is None or t["batch"] > best["batch"]),
                    key=lambda t: t["batch"], default=None)  # fmt: skip
    return {
        "framework": cell.framework, "model": cell.model, "dataset": cell.dataset,
        "budget_bytes": budget, "baseline_bytes": baseline,
        "fits": best["batch"] if best else None, "fits_bytes": best["bytes"] if best else None,
        "first_not": first_not["batch"] if first_not else None,
        "first_not_bytes": first_not["bytes"] if first_not else None,  # a lower bound if stopped
        "why_not": first_not["why"] if first_not else
        (f"every batch up to the {n_train} training samples fits" if best
         else tries[-1]["why"] if tries else ""),
        "tries": tries,
    }  # fmt: skip
