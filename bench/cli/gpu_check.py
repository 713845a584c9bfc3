"""``bench gpu-check OUT``: the prepared check for a GPU host (docs/gpu.md), or its rehearsal on a
CPU with ``--dry-run``.

It prints the environment, calibrates the GPU (torch's and JAX's matmul peaks at fp32, tf32 and
bf16), runs the parts of :func:`bench.run.gpu_plan.plan` in priority order, each in a process
session of its own with a wall-clock cut-off (time a part leaves unused passes to the next), runs
``pytest -m gpu``, and writes into OUT: ``results/`` (results.jsonl and env.json, the records of
every part), ``index.html`` (the report), ``summary.md`` (the one summary table) and
``gpu-check.log`` (everything printed, the workers' logs and pytest's output). A part that fails
or is cut is reported with its error and the rest goes on; the exit status is 1 then, else 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console

from bench.cli.args import UsageError
from bench.cli.calibrate import peak_table
from bench.measure import environment, gpu_environment
from bench.report.gpu_summary import PartOutcome, summary_markdown
from bench.run import gpu_costs, gpu_plan
from bench.run.store import RunDir
from bench.zoo.precision import refusal as precision_refusal

ROOT = Path(__file__).resolve().parents[2]  # the repository (bench's parent)
LOG = "gpu-check.log"
#: The dry run's whole budget on a 2-core CPU: its parts share it as the GPU's share 8 minutes,
#: in proportion to the H100 plan, which is not the CPU's cost structure (a shared 2-core CPU
#: cut the first part at 86 s of a 300 s budget). Generous: the rehearsal checks the code path;
#: the cut-off itself is tested on its own (tests/cli/test_gpu_check.py).
DRY_BUDGET_S = 600.0
#: The dry run's calibration: small matrices, short loops (it checks the path, not the peak).
DRY_CALIBRATION = {"sizes": (128, 256), "seconds": 0.05}


class Log:
    """Everything the check prints, to the console and to ``gpu-check.log``."""

    def __init__(self, path: Path, console: Console) -> None:
        self.file: TextIO = path.open("a", encoding="utf-8")
        self.console = console
        self.lock = threading.Lock()

    def say(self, text: str = "") -> None:
        with self.lock:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)
            self.file.write(text + "\n")
            self.file.flush()

    def quiet(self, text: str) -> None:
        """To the log file only (workers' logs, pytest's full output)."""
        with self.lock:
            self.file.write(text if text.endswith("\n") else text + "\n")
            self.file.flush()

    def close(self) -> None:
        self.file.close()


def compile_caches(scratch: Path) -> dict[str, str]:
    """Compilation caches in the check's scratch folder: a cell's timing-pass worker reuses
    what its training worker compiled (XLA's persistent cache, inductor's and Triton's), so the
    check pays each compilation once; each check starts cold (the first step's time is real)."""
    return {
        "JAX_COMPILATION_CACHE_DIR": str(scratch / "cache" / "jax"),
        "TORCHINDUCTOR_CACHE_DIR": str(scratch / "cache" / "inductor"),
        "TRITON_CACHE_DIR": str(scratch / "cache" / "triton"),
    }


def run_session(
    cmd: list[str], timeout: float, log: Log, cwd: Path, extra_env: dict[str, str] | None = None
) -> tuple[int | None, str]:
    """Run ``cmd`` in a session of its own, its output streamed into the log, for at most
    ``timeout`` seconds; at the cut-off the whole session (the part and its framework workers)
    is killed. Returns (exit status or None when cut, its last output line)."""
    path = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env = {**os.environ, **(extra_env or {}), "PYTHONPATH": path}
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    last: list[str] = [""]

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            if line.strip():
                last[0] = line.strip()
            log.say(f"  {line}")

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        rc: int | None = proc.wait(timeout=max(timeout, 1.0))
    except subprocess.TimeoutExpired:
        rc = None
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        else:  # the part is done; a worker of it may linger
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        reader.join(5)
    return rc, last[0]


def environment_part(log: Log) -> None:
    for line in gpu_environment.gpu_lines():
        log.say(line)
    log.say(f"python {sys.version.split()[0]} ({sys.executable})")
    for name, version in gpu_environment.cuda_packages():
        log.say(f"CUDA library: {name} {version}")
    for name, version, origin in gpu_environment.imported_from():
        log.say(f"{name} {version}: {origin}")
    diffs = gpu_environment.differences(ROOT / "constraints.txt")
    log.say(f"versions that differ from constraints.txt ({len(diffs)}):")
    for name, pinned, have in diffs:
        log.say(f"  {name}: {have} here, {pinned} pinned")


def calibrate_part(device: str, dry: bool, allowance: float, log: Log) -> dict[str, Any]:
    from bench.measure import calibrate

    threads = environment.usable_cores()
    quick: dict[str, Any] = DRY_CALIBRATION if dry else {"sizes": None, "seconds": 0.3}
    libraries = list(gpu_costs.CALIBRATE_LIBRARIES.values())
    result = calibrate.calibrate(libraries, threads, device, gpu_costs.CALIBRATE_PRECISIONS,
                                 timeout=allowance / len(libraries), **quick)  # fmt: skip
    console = Console(width=120, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(peak_table(result, threads, device))
    for line in console.export_text().splitlines():
        log.say(line)
    for p, why in (result.get("precisions_not_measured") or {}).items():
        log.say(f"{p}: not measured ({why})")
    if device == "cuda":
        for library, peaks in (result.get("matmul_gflops_by_precision") or {}).items():
            for p, gflops in peaks.items():
                sheet = gpu_costs.H100_DENSE_TFLOPS[p]
                share = gflops / 1e3 / sheet
                log.say(f"{library} {p}: {gflops / 1e3:,.0f} TFLOP/s measured, {share:.0%} of "
                        f"the H100 datasheet's {sheet:g}")  # fmt: skip
    if result["errors"]:
        raise RuntimeError("; ".join(f"{k}: {v}" for k, v in result["errors"].items()))
    return result


def print_plan(parts: list[gpu_plan.Part], cutoffs: list[float], budget: float, log: Log) -> None:
    total = sum(p.planned_s for p in parts)
    log.say(f"plan: {len(parts)} parts, planned {total:.0f} s on an H100 (budget "
            f"{gpu_plan.BUDGET_S:.0f} s, {gpu_plan.FINISH_S:.0f} s kept for the report); "
            f"cut-offs here share {budget:.0f} s")  # fmt: skip
    log.say(
        f"  sized at the H100 SXM datasheet's dense peaks (TFLOP/s) "
        f"{gpu_costs.H100_DENSE_TFLOPS} and assumed MFU {gpu_costs.ASSUMED_MFU}, plus "
        "worker imports and first steps measured on a CPU (bench/run/gpu_costs.py)"
    )
    for part, cut in zip(parts, cutoffs, strict=True):
        log.say(f"  {part.name}: {part.planned_s:.0f} s planned on an H100, cut-off here "
                f"{cut:.0f} s")  # fmt: skip
        for line in part.detail:
            log.say(f"      {line}")
    verdict = "within" if total <= gpu_plan.BUDGET_S - gpu_plan.FINISH_S else "OVER"
    log.say(f"  total {total:.0f} s: {verdict} the {gpu_plan.BUDGET_S:.0f} s budget")


def cells_part(
    part: gpu_plan.Part, mode: str, device: str, scratch: Path, calibration: Any,
    allowance: float, log: Log,
) -> tuple[str, str]:  # fmt: skip
    """Run one cells part in its own session; (status, error)."""
    if refused := precision_refusal(part.precision, device):  # tf32 in the dry run
        return "skipped", f"planned, not run here: {refused.split(':')[0]}"
    config = {
        "suite": gpu_plan.SUITE[mode], "frameworks": part.frameworks, "models": part.models,
        "precision": part.precision, "device": device, "mode": mode, "tag": part.key,
        "run_dir": str(scratch / part.key), "calibration": calibration,
        "options": {"timing_passes": part.timing_passes},
    }  # fmt: skip
    if mode == "dry" and part.name != first_cells_part(gpu_plan.plan()).name:
        # the timing pass is rehearsed by the first part; the others' is the same code, and
        # two framework starts per cell would take the rehearsal past its 2 minutes
        config["options"] = {"timing_passes": 0}
    if mode == "gpu":
        log.say(f"  by hand: python -m bench {' '.join(gpu_plan.run_argv(part))}")
    config_path = scratch / f"{part.key}.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    cmd = [sys.executable, "-m", "bench.run.gpu_part", str(config_path)]
    extra = compile_caches(scratch)
    if mode == "dry":  # dynamo and AOT autograd as on the GPU, no C++ code generation
        extra["BENCH_COMPILE_BACKEND"] = "aot_eager"
    rc, last = run_session(cmd, allowance, log, ROOT, extra)
    if rc is None:
        return "cut", f"cut at {allowance:.0f} s; its finished cells are kept"
    return ("ok", "") if rc == 0 else ("failed", last[:200] or f"exit status {rc}")


def first_cells_part(parts: list[gpu_plan.Part]) -> gpu_plan.Part:
    return next(p for p in parts if p.kind == "cells")


def pytest_part(allowance: float, log: Log) -> tuple[str, str]:
    tests = ROOT / "tests" / "gpu"
    if not tests.is_dir():
        return "failed", f"{tests} not found: copy the repository's tests/ to the host"
    cmd = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider",
           "-p", "no:xdist", str(tests)]  # fmt: skip
    rc, last = run_session(cmd, allowance, log, ROOT)
    if rc is None:
        return "cut", f"cut at {allowance:.0f} s"
    return ("ok", last) if rc == 0 else ("failed", last or f"pytest exit status {rc}")


def merge(scratch: Path, out: Path, calibration: Any, outcomes: list[PartOutcome],
          mode: str, log: Log) -> RunDir | None:  # fmt: skip
    """Every part's records into ``out/results`` (one run directory), the workers' logs into the
    log; None when no part wrote a record."""
    runs = [RunDir(p) for p in sorted(scratch.iterdir()) if (p / "results.jsonl").is_file()]
    records = [r for run in runs for r in run.latest_by_key().values()]
    for run in runs:
        for worker_log in sorted((run.path / "logs").glob("*.log")):
            text = worker_log.read_text(encoding="utf-8", errors="replace").strip()
            if text:
                log.quiet(f"--- worker log {run.path.name}/{worker_log.name}\n{text}")
    if not runs:
        return None
    env = dict(runs[0].env())
    env.update(
        run_id=f"gpu-check-{out.resolve().name}", tag=f"gpu-check ({mode})",
        suite=gpu_plan.SUITE[mode], calibration=calibration,
        plan=[c for run in runs for c in run.env().get("plan", [])],
        gpu_check={"mode": mode, "parts": [o.__dict__ for o in outcomes]},
    )  # fmt: skip
    merged = RunDir.create(out / "results", env)
    for r in records:
        merged.append(r)
    return merged


def cmd_gpu_check(args: argparse.Namespace, console: Console) -> int:
    out: Path = args.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out}: exists and is not an empty folder; the check writes a new one")
    dry = bool(args.dry_run)
    mode, device = ("dry", "cpu") if dry else ("gpu", "cuda")
    if not dry and not environment.gpu_names():
        raise UsageError("gpu-check: no CUDA GPU here (nvidia-smi finds none); rehearse it on "
                         "a CPU with --dry-run")  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    log = Log(out / LOG, console)
    started = time.perf_counter()
    parts = gpu_plan.plan()
    budget = args.budget or (DRY_BUDGET_S if dry else gpu_plan.BUDGET_S)
    runs = [not (p.kind == "cells" and precision_refusal(p.precision, device)) for p in parts]
    cutoffs = gpu_plan.cutoffs(parts, budget, runs)
    log.say(f"bench gpu-check{' --dry-run' if dry else ''}: {time.strftime('%Y-%m-%d %H:%M:%S')}"
            f", device {device}, output {out}")  # fmt: skip
    print_plan(parts, cutoffs, budget, log)
    scratch = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    outcomes: list[PartOutcome] = []
    calibration: Any = None
    carry = 0.0
    try:
        for part, share in zip(parts, cutoffs, strict=True):
            allowance = share + carry
            log.say(f"== {part.name} (cut-off {allowance:.0f} s)")
            t0 = time.perf_counter()
            status, error = "ok", ""
            try:
                if part.kind == "environment":
                    environment_part(log)
                elif part.kind == "calibrate":
                    calibration = calibrate_part(device, dry, allowance, log)
                elif part.kind == "cells":
                    status, error = cells_part(part, mode, device, scratch, calibration,
                                               allowance, log)  # fmt: skip
                else:
                    status, error = pytest_part(allowance, log)
                    status, error = status, ("" if status == "ok" else error)
            except Exception as exc:  # a part that fails is reported; the rest goes on
                status, error = "failed", f"{type(exc).__name__}: {exc}"[:300]
            took = time.perf_counter() - t0
            carry = max(allowance - took, 0.0)
            outcomes.append(PartOutcome(part.name, part.planned_s, allowance, took, status, error))
            log.say(f"== {part.name}: {status} in {took:.1f} s" + (f" ({error})" if error else ""))
        merged = merge(scratch, out, calibration, outcomes, mode, log)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    what = "dry run on the CPU (tiny models: the figures mean nothing)" if dry else "GPU"
    notes = [f"mode: {what}; whole check {time.perf_counter() - started:.0f} s"]
    if merged is not None:
        from bench.report import build_report

        try:
            build_report(merged.path, out)
        except Exception as exc:  # the summary and the records stand without the page
            notes.append(f"the HTML report failed: {type(exc).__name__}: {exc}")
    records = list(merged.latest_by_key().values()) if merged else []
    text = summary_markdown(records, merged.env() if merged else {}, outcomes,
                            f"GPU check{' (dry run)' if dry else ''}", notes)  # fmt: skip
    (out / "summary.md").write_text(text, encoding="utf-8")
    log.say(text)
    cut = [o.name for o in outcomes if o.status == "cut"]
    skipped = [o.name for o in outcomes if o.status == "skipped"]
    if skipped:
        log.say(f"parts skipped here: {', '.join(skipped)}")
    log.say(f"parts cut: {', '.join(cut) if cut else 'none'}; "
            f"whole check {time.perf_counter() - started:.0f} s; output in {out}")  # fmt: skip
    log.close()
    return 0 if all(o.status in ("ok", "skipped") for o in outcomes) else 1
