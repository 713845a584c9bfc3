"""``bench gpu-check``: its plan fits the budget in the issue's priority order, a part past its
cut-off is stopped with everything it started, the summary reads each cell against the peak of
its own library and precision, and (slow) the whole check rehearsed on this CPU from a scratch
``--target`` install of the wheel folder, as a GPU host would run it (docs/gpu.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from bench.cli.gpu_check import Log, run_session
from bench.measure.calibrate import library_of
from bench.report.gpu_summary import PartOutcome, summary_markdown
from bench.run import gpu_plan

ROOT = Path(__file__).resolve().parents[2]
WHEELS_CP311 = ROOT / "gpu-wheels-cp311"


def test_the_plan_fits_the_budget_in_priority_order() -> None:
    parts = gpu_plan.plan()
    assert sum(p.planned_s for p in parts) <= gpu_plan.BUDGET_S - gpu_plan.FINISH_S
    assert [p.kind for p in parts] == ["environment", "calibrate", *["cells"] * 5, "pytest"]
    cells = [(p.frameworks, p.models, p.precision) for p in parts if p.kind == "cells"]
    assert cells[0] == (("torch", "keras:jax"), ("resnet50",), "bf16")
    assert cells[1] == (("torch:compile", "keras:torch"), ("resnet50",), "bf16")
    assert cells[2][1:] == (("transformer", "gpt"), "bf16")
    assert [c[2] for c in cells[3:]] == ["tf32", "tf32"]  # tf32 runs of the same, last
    assert all(p.planned_s > 0 and p.detail for p in parts)
    # a timing pass in fresh workers where the budget allows: ResNet-50's bf16 parts
    assert [p.timing_passes for p in parts if p.kind == "cells"] == [1, 1, 0, 0, 0]


def test_the_cutoffs_share_the_budget_and_skip_what_does_not_run() -> None:
    parts = gpu_plan.plan()
    cut = gpu_plan.cutoffs(parts, 480.0)
    assert sum(cut) == pytest.approx(480.0 - gpu_plan.FINISH_S)
    runs = [p.precision != "tf32" for p in parts]
    skipped = gpu_plan.cutoffs(parts, 300.0, runs)
    assert sum(skipped) == pytest.approx(300.0 - gpu_plan.FINISH_S)
    assert all(c == 0.0 for c, r in zip(skipped, runs, strict=True) if not r)


def test_a_part_past_its_cutoff_is_stopped_with_its_children(tmp_path: Path) -> None:
    log = Log(tmp_path / "log", Console(file=open(os.devnull, "w")))  # noqa: SIM115
    pid_file = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {pid_file}; echo started; wait"
    t0 = time.perf_counter()
    rc, last = run_session(["bash", "-c", script], 1.0, log, tmp_path)
    assert rc is None and last == "started"
    assert time.perf_counter() - t0 < 10
    child = int(pid_file.read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text()
    rc, last = run_session(["bash", "-c", "echo done; exit 3"], 10.0, log, tmp_path)
    assert (rc, last) == (3, "done")  # a failing part: its status and last line
    log.close()
    assert "started" in (tmp_path / "log").read_text()


def test_each_variant_is_read_against_its_own_library() -> None:
    assert library_of("keras") == "tensorflow" and library_of("tf:xla") == "tensorflow"
    assert library_of("keras:torch") == "torch" and library_of("torch:compile") == "torch"
    assert library_of("keras:jax") == "jax"


def test_the_summary_reads_mfu_at_the_cells_precision_and_names_every_outcome() -> None:
    record = {
        "key": "keras:jax/gpt/synthetic-tokens-gpt2@bf16", "framework": "keras:jax",
        "family": "keras", "model": "gpt", "dataset": "synthetic-tokens-gpt2",
        "precision": "bf16", "status": "ok", "flops_per_sample_train": 4e9,
        "throughput": {"median": 10.0, "ci_low": 9.0, "ci_high": 11.0},
        "time_to_first_step_s": 12.5,
    }  # fmt: skip
    env = {"calibration": {"matmul_gflops": {"jax": 100.0, "torch": 50.0},
                           "matmul_gflops_by_precision": {"jax": {"bf16": 400.0}}}}  # fmt: skip
    outcomes = [
        PartOutcome("1 resnet50 bf16", 42, 60, 61.0, "cut", "cut at 60 s"),
        PartOutcome("pytest -m gpu", 30, 25, 2.0, "failed", "1 failed"),
    ]
    text = summary_markdown([record], env, outcomes, "GPU check", ["a note"])
    row = next(line for line in text.splitlines() if line.startswith("| keras:jax/gpt"))
    assert "10.0%" in row  # 40 GFLOP/s of the bf16 peak 400, not of the fp32 100
    assert "cut: cut at 60 s" in text and "failed: 1 failed" in text
    assert "TensorFlow on a GPU" in text and "a note" in text


@pytest.mark.slow
@pytest.mark.framework
@pytest.mark.skipif(not (WHEELS_CP311 / ".complete").exists(),
                    reason="no gpu-wheels-cp311/ (make gpu-wheels-cp311 builds it)")  # fmt: skip
def test_the_dry_run_passes_from_a_target_install_of_the_wheels(tmp_path: Path) -> None:
    """benchmarks/gpu_check.sh installs the wheel folder with pip --target and runs the check
    from the repository with PYTHONPATH, as on the host; keras, optree, namex and mnist1d are
    then imported from that folder, not from this environment's copies."""
    site, out = tmp_path / "site", tmp_path / "out"
    env = {**os.environ, "WHEELS": str(WHEELS_CP311), "SITE": str(site),
           "PYTHON": sys.executable}  # fmt: skip
    env.pop("PYTHONPATH", None)
    t0 = time.perf_counter()
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), str(out),
                           "--dry-run"], capture_output=True, text=True, env=env, timeout=900,
                          check=False)  # fmt: skip
    seconds = time.perf_counter() - t0
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) <= 8 and all(p.stat().st_size <= 16 * 2**20 for p in files), files
    assert {p.name for p in files} == {"results.jsonl", "env.json", "index.html", "summary.md",
                                       "gpu-check.log"}  # fmt: skip
    log = (out / "gpu-check.log").read_text()
    for name in ("keras", "optree", "namex", "mnist1d"):
        assert f": {site}/{name}/" in log, name  # imported from the --target folder
    assert "within the 480 s budget" in log
    records = [json.loads(line) for line in (out / "results" / "results.jsonl").open()]
    ran = {(r["framework"], r["model"], r["precision"]) for r in records if r["status"] == "ok"}
    for part in gpu_plan.plan():
        if part.kind == "cells" and part.precision != "tf32":  # tf32: no CPU has it
            for framework in part.frameworks:
                for model in part.models:
                    assert (framework, model, part.precision) in ran
    outcomes = json.loads((out / "results" / "env.json").read_text())["gpu_check"]["parts"]
    tf32 = [o["name"].split(":")[0].endswith("tf32") for o in outcomes]  # "4 resnet50 tf32: ..."
    assert {o["status"] for o, t in zip(outcomes, tf32, strict=True) if not t} == {"ok"}, outcomes
    assert {o["status"] for o, t in zip(outcomes, tf32, strict=True) if t} == {"skipped"}
    assert "skipped" in (out / "summary.md").read_text()
    print(f"dry run from a --target install: {seconds:.0f} s")
